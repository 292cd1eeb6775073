export * from "./clusterHost";
export * from "./aliyunLightweightServer";
export * from "./vultrServer";
export * from "./existingServer";
