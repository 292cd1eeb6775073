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
export const REGISTRIES_HEADER = "# Rendered by k3s-multicloud: the k3s system images (docker.io/rancher/*) are pulled through these mirrors on this mainland China node.";

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

/**
 * The mirror serves k3s' own images and nothing else. containerd picks a mirror by registry host (docker.io), so the
 * scope is drawn inside the mirror instead, by the two mechanisms k3s' registries.yaml has (k3s docs
 * installation/private-registry, "Rewrites"; k3s pkg/agent/containerd/config.go normalizeEndpointAddress; the request
 * path and rewrite loop of k3s' containerd fork, core/remotes/docker/resolver.go):
 * - the endpoint carries a path ending in the system images' namespace (`/v2/rancher`): an endpoint with a path is
 *   written with `override_path`, and every request containerd sends there is `<path>/<repository>/...`, so nothing
 *   outside the mirror's `rancher/` namespace can ever be asked for;
 * - `^rancher/(.*)$` -> `$1` keeps `rancher/mirrored-pause` at `rancher/mirrored-pause` on the mirror;
 * - every other repository is renamed to NOT_MIRRORED, which no registry can hold (upper case is outside the
 *   distribution spec's repository grammar), so the mirror answers 404 or 400 and containerd goes on to docker.io
 *   itself. A workload's `nginx` is never served by whoever owns a namespace on the mirror, `rancher/` included.
 * The two patterns match disjoint sets (containerd tries a host's rewrites in map order and keeps the first that
 * changes the name), written for Go's RE2, which has no look-ahead: "not starting with rancher/" is spelled out.
 */
export const SYSTEM_IMAGE_NAMESPACE = "rancher";
export const NOT_MIRRORED = "k3s-multicloud/NOT-A-RANCHER-IMAGE";
export const SYSTEM_IMAGE_REWRITE = "^rancher/(.*)$";
export const OTHER_IMAGE_REWRITE = "^(?:[^r]|r[^a]|ra[^n]|ran[^c]|ranc[^h]|ranch[^e]|ranche[^r]|rancher[^/]).*$";

/**
 * The endpoint a mirror is written as: its own path (an endpoint path replaces `/v2`, as containerd's override_path
 * does) or `/v2`, then the system images' namespace.
 */
export function systemImageEndpoint(mirror: string): string {
    const url = new URL(mirror);
    const path = url.pathname.replace(/\/+$/, "");
    const base = path === "" || path === "/v2" ? "/v2" : path;
    return `${url.protocol}//${url.host}${base}/${SYSTEM_IMAGE_NAMESPACE}`;
}

/** A node's registries.yaml: k3s' docker.io/rancher/* images through the given mirrors, in order; nothing else. */
export function renderRegistries(mirrors: readonly string[]): string {
    return [
        REGISTRIES_HEADER,
        "mirrors:",
        "  docker.io:",
        "    endpoint:",
        ...mirrors.map((m) => `      - "${systemImageEndpoint(m)}"`),
        "    rewrite:",
        `      "${SYSTEM_IMAGE_REWRITE}": "$1"`,
        `      "${OTHER_IMAGE_REWRITE}": "${NOT_MIRRORED}"`,
        "",
    ].join("\n");
}
