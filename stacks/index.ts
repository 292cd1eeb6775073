// The program `pulumi up` runs for every stack (Pulumi.yaml: main: stacks/). Configure it per environment in
// stacks/Pulumi.<stack>.yaml; docs/configuration.md, "Stack config", lists every key.
import * as pulumi from "@pulumi/pulumi";
import { deployStack, stackOutputs } from "./program";
import { readRawConfig } from "./readConfig";
import { parseStackConfig } from "./stackConfig";

const config = new pulumi.Config("k3s-multicloud");
const stack = parseStackConfig(readRawConfig(config));
// The version this stack deployed last time, from its own outputs: a k3sVersion older than it is refused at preview.
const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
const deployedK3sVersion = self.getOutput("k3sVersion") as pulumi.Output<string | undefined>;
const deployed = deployStack(pulumi.getStack(), stack, (key) => config.requireSecret(key), deployedK3sVersion, (key) => config.getSecret(key));
const outputs = stackOutputs(pulumi.getStack(), deployed);

export const clusterName = outputs.clusterName;
export const kubeconfig = outputs.kubeconfig;
export const apiEndpoint = outputs.apiEndpoint;
export const nodes = outputs.nodes;
export const k3sVersion = outputs.k3sVersion;
export const meshStatus = outputs.meshStatus;
