export * from "./nodeAnnotations";
export { PUBLIC_IP_OVERWRITE, PUBLIC_IPV6_OVERWRITE, FLANNEL_START_KEYS, managedAnnotations } from "./managedAnnotations";
