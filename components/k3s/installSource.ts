import { HostProvider } from "../hosts/clusterHost";
import { InstallMirror } from "./options";

/** The upstream installer script; it downloads k3s from GitHub releases. */
export const UPSTREAM_INSTALLER_URL = "https://get.k3s.io";
/** The China mirror's installer; with INSTALL_K3S_MIRROR=cn it downloads k3s from the mirror too. */
export const CHINA_INSTALLER_URL = "https://rancher-mirror.rancher.cn/k3s/k3s-install.sh";

/**
 * Alibaba regions on the mainland reach GitHub slowly or not at all. Hong Kong and the overseas regions reach it
 * fine, and the mirror can lag behind releases, so only mainland regions use it by default.
 */
export function isMainlandChinaRegion(provider: HostProvider, location: string): boolean {
    return provider === "aliyun" && location.startsWith("cn-") && location !== "cn-hongkong";
}

export function resolveInstallMirror(mode: InstallMirror, provider: HostProvider, location: string): "github" | "cn" {
    if (mode !== "auto") return mode;
    return isMainlandChinaRegion(provider, location) ? "cn" : "github";
}
