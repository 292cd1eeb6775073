/** The k3s-multicloud library: everything a program imports comes from here. */
export * from "./hosts";
export { ConfigError } from "./validation/configError";
