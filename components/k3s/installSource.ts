import { HostProvider } from "../hosts/clusterHost";
import { InstallMirror } from "./options";

/**
 * Alibaba regions on the mainland reach GitHub slowly or not at all. Hong Kong and the overseas regions reach it
 * fine, and the mirror can lag behind releases, so only mainland regions use it by default.
 */
export function isMainlandChinaRegion(provider: HostProvider, location: string): boolean {
    return provider === "aliyun" && location.startsWith("cn-") && location !== "cn-hongkong";
}

/** Where install.sh (components/scripts) fetches the installer from: upstream, or the China mirror. */
export function resolveInstallMirror(mode: InstallMirror, provider: HostProvider, location: string): "github" | "cn" {
    if (mode !== "auto") return mode;
    return isMainlandChinaRegion(provider, location) ? "cn" : "github";
}
