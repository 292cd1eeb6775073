// The program `pulumi up` runs for every stack (Pulumi.yaml: main: stacks/). Configure it per environment in
// stacks/Pulumi.<stack>.yaml; README, "Stack config", lists every key.
import * as pulumi from "@pulumi/pulumi";
import { deployStack, stackOutputs } from "./program";
import { readRawConfig } from "./readConfig";
import { parseStackConfig } from "./stackConfig";

const config = new pulumi.Config("k3s-multicloud");
const stack = parseStackConfig(readRawConfig(config));
const deployed = deployStack(pulumi.getStack(), stack, (key) => config.requireSecret(key));
const outputs = stackOutputs(pulumi.getStack(), deployed);

export const clusterName = outputs.clusterName;
export const kubeconfig = outputs.kubeconfig;
export const apiEndpoint = outputs.apiEndpoint;
export const nodes = outputs.nodes;
