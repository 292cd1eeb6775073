import { ConfigError } from "../validation/configError";
import { validateLabels, validateQualifiedKey } from "../validation/kubernetesNames";

/** The annotation flannel reads (only at start) to advertise a public IP other than the NIC's. */
export const PUBLIC_IP_OVERWRITE = "flannel.alpha.coreos.com/public-ip-overwrite";
export const PUBLIC_IPV6_OVERWRITE = "flannel.alpha.coreos.com/public-ipv6-overwrite";
/** Makes the server-side apply take ownership of fields another manager (k3s) also writes. */
export const PATCH_FORCE = "pulumi.com/patchForce";

/** Keys flannel reads only when it starts: a change needs a k3s restart on that node. */
export const FLANNEL_START_KEYS: readonly string[] = [PUBLIC_IP_OVERWRITE, PUBLIC_IPV6_OVERWRITE];

/**
 * Who writes which annotation, for the docs and the error messages:
 * - k3s writes the two overwrite keys from node-external-ip at every start (and removes them when the flags are off);
 * - flannel writes public-ip, backend-data, backend-type and kube-subnet-manager when it starts;
 * - this project manages the overwrite (same value k3s writes, so preview shows it) and the user's own keys.
 */
const FLANNEL_OWNED = /^flannel\.alpha\.coreos\.com\/(public-ip|public-ipv6|backend-data|backend-type|backend-v6-data|kube-subnet-manager)$/;

/** Validates user annotations and labels of one node; the keys are named in every error. */
export function validateNodeMetadata(
    field: string,
    annotations: Readonly<Record<string, string>>,
    labels: Readonly<Record<string, string>>,
): void {
    for (const key of Object.keys(annotations)) {
        validateQualifiedKey(`${field}.annotations[${JSON.stringify(key)}]`, key);
        if (FLANNEL_OWNED.test(key)) {
            throw new ConfigError(
                `${field}.annotations[${JSON.stringify(key)}]`,
                annotations[key],
                "is written by flannel itself each time it starts",
                `Leave it to flannel; to change the address it advertises, change the node's public IP (${PUBLIC_IP_OVERWRITE} follows it).`,
            );
        }
    }
    validateLabels(`${field}.labels`, labels);
}

/**
 * The annotations one node's patch manages: the user's, plus public-ip-overwrite = the node's public IP, which is
 * also node-external-ip in its config.yaml (one source of truth). A user value for a k3s-owned key that differs from
 * what k3s writes would be overwritten at the next k3s start, so it is an error rather than a silent flip-flop.
 */
export function managedAnnotations(
    field: string,
    userAnnotations: Readonly<Record<string, string>>,
    publicIp: string,
): Record<string, string> {
    const given = userAnnotations[PUBLIC_IP_OVERWRITE];
    if (given !== undefined && given !== publicIp) {
        throw new ConfigError(
            `${field}.annotations[${JSON.stringify(PUBLIC_IP_OVERWRITE)}]`,
            given,
            `differs from the node's public IP ${publicIp}, and k3s rewrites this annotation from node-external-ip at every start`,
            "Remove it: this project sets it to the host's publicIp; to advertise another address, change the host's publicIp.",
        );
    }
    if (userAnnotations[PUBLIC_IPV6_OVERWRITE] !== undefined) {
        throw new ConfigError(
            `${field}.annotations[${JSON.stringify(PUBLIC_IPV6_OVERWRITE)}]`,
            userAnnotations[PUBLIC_IPV6_OVERWRITE],
            "is written by k3s from an IPv6 node-external-ip, and this project advertises IPv4 only, so k3s would remove it at its next start",
            "Remove it.",
        );
    }
    return sortKeys({ ...userAnnotations, [PUBLIC_IP_OVERWRITE]: publicIp });
}

/** The values of the keys whose change needs a restart, as a stable string: the restart step's trigger. */
export function restartTrigger(annotations: Readonly<Record<string, string>>, restartKeys: readonly string[]): string {
    const keys = [...new Set(restartKeys)].sort();
    return keys.map((key) => `${key}=${annotations[key] ?? ""}`).join("\n");
}

export function sortKeys<T>(record: Readonly<Record<string, T>>): Record<string, T> {
    return Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]));
}
