// An example program composing the library: the same cluster as the dev stack, plus a workload on it.
// Run it as its own Pulumi project (copy Pulumi.yaml with `main: examples/workload/`), or read the kubeconfig of a
// deployed stack through a StackReference instead (docs/library.md, "Composing"). It imports the package by name, as
// your project would (in this repository tsconfig.json maps the name to the sources).
import * as pulumi from "@pulumi/pulumi";
import { deployStack, parseStackConfig, readRawConfig } from "k3s-multicloud/stack";
import { deployWhoami } from "./whoami";

const config = new pulumi.Config("k3s-multicloud");
const { cluster } = deployStack(pulumi.getStack(), parseStackConfig(readRawConfig(config)), (key) => config.requireSecret(key));
const { service } = deployWhoami(cluster);

export const kubeconfig = cluster.kubeconfig;
export const whoamiUrl = pulumi.interpolate`http://${cluster.nodes.apply((nodes) => nodes[0].publicIp)}:${service.spec.ports[0].nodePort}`;
