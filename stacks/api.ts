// The stack program's building blocks, for consumers who want the same YAML schema in their own stack
// (`import { deployStack, parseStackConfig, readRawConfig } from "k3s-multicloud/stack"`).
export { deployStack, stackOutputs } from "./program";
export type { DeployedStack, SecretSource } from "./program";
export { parseStackConfig, CONFIG_KEYS } from "./stackConfig";
export type { StackConfig, NodeConfig } from "./stackConfig";
export { readRawConfig } from "./readConfig";
