import { ConfigError } from "../validation/configError";

/**
 * Where mainland nodes pull docker.io images from. docker.io is generally unreachable from mainland China, so a node
 * there is Ready but its system pods (pause, coredns, local-path-provisioner, metrics-server...) sit in
 * ImagePullBackOff. `system-default-registry` would fix that for the whole cluster, but the mirror decision is per
 * node, so each mainland node gets its own /etc/rancher/k3s/registries.yaml instead.
 *
 * The default is the registry Rancher's mainland documentation gives for k3s' system images
 * (registry.cn-hangzhou.aliyuncs.com, used there as system-default-registry: the same image paths). Which images and
 * tags it carries is not verified here: the install step checks, on the node and before k3s starts, that every system
 * image of the pinned version is there, and stops with the missing ones named.
 */
export const DEFAULT_CHINA_REGISTRY_MIRRORS: readonly string[] = ["https://registry.cn-hangzhou.aliyuncs.com"];

/** The first line of a registries.yaml this project wrote; a file without it belongs to the host's owner. */
export const REGISTRIES_HEADER = "# Rendered by k3s-multicloud: docker.io is pulled through these mirrors on this mainland China node.";

const MIRROR_URL = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;

/**
 * Registry mirrors must be plain https URLs (http only when asked for: anyone on the path could swap the images a node
 * pulls): they are written into YAML and used by curl on the node.
 */
export function validateRegistryMirrors(field: string, mirrors: readonly string[], allowHttp = false): void {
    if (mirrors.length === 0) {
        throw new ConfigError(field, "[]", "is empty", `List at least one mirror, e.g. ["${DEFAULT_CHINA_REGISTRY_MIRRORS[0]}"], or leave it out for that default.`);
    }
    mirrors.forEach((mirror, index) => {
        if (!MIRROR_URL.test(mirror)) {
            throw new ConfigError(`${field}[${index}]`, mirror, "is not a registry URL", 'Write it as https://<host>[:port][/path], e.g. "https://registry.cn-hangzhou.aliyuncs.com".');
        }
        if (mirror.startsWith("http://") && !allowHttp) {
            throw new ConfigError(
                `${field}[${index}]`,
                mirror,
                "is plain http: anyone on the way between the node and the mirror could serve it other images",
                "Use the mirror's https:// URL, or set insecureRegistryMirrors: true if you accept that (a mirror inside your own network).",
            );
        }
    });
}

/** A node's registries.yaml: docker.io through the given mirrors, in order (containerd tries docker.io last). */
export function renderRegistries(mirrors: readonly string[]): string {
    return [REGISTRIES_HEADER, "mirrors:", "  docker.io:", "    endpoint:", ...mirrors.map((m) => `      - "${m}"`), ""].join("\n");
}
