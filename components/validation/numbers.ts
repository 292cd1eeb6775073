import { ConfigError } from "./configError";

/**
 * A count or a number of seconds: a whole number from `min` to `max`. Such values reach shell arithmetic and timers
 * on hosts, so anything else is refused here, before anything is registered (and the toolkit checks again on the
 * host); the upper bound keeps a typo (`1e9` seconds: 31 years) from passing a preview.
 */
export function requireWholeNumber(field: string, value: number, range: { min: number; max: number }, problem: string, fix: string): number {
    if (!Number.isSafeInteger(value) || value < range.min || value > range.max) throw new ConfigError(field, value, problem, fix);
    return value;
}

/**
 * Settings checked at more than one boundary (the cluster, and each server or node it builds): one problem and fix
 * each, so every boundary says the same words. `parent` is the component's field prefix, e.g. `K3sCluster(dev)`.
 */
export const checkSetting = {
    caGeneration: (parent: string, value: number | undefined): number =>
        requireWholeNumber(`${parent}.caGeneration`, value ?? 0, NUMBER_BOUNDS.caGeneration, "is not a whole number from 0 to 1000", "Use 0 (default) and raise it by one after each CA rotation."),
    adminCredentialGeneration: (parent: string, value: number | undefined): number =>
        requireWholeNumber(
            `${parent}.adminCredentialGeneration`,
            value ?? 1,
            NUMBER_BOUNDS.adminCredentialGeneration,
            "is not a whole number from 1 to 1000",
            "Use 1 (default) and raise it by one to revoke the admin kubeconfig and issue a new one.",
        ),
    readyTimeoutSeconds: (parent: string, value: number): number =>
        requireWholeNumber(`${parent}.readyTimeoutSeconds`, value, NUMBER_BOUNDS.waitSeconds, "is not a whole number of seconds from 1 to 3600", "Use e.g. 300 (default)."),
};

/** The bounds shared by the stack config's schema and the components' own checks. */
export const NUMBER_BOUNDS = {
    /** Seconds a node may take to become Ready, and a mesh check to see its handshakes: an hour at most. */
    waitSeconds: { min: 1, max: 3600 },
    /** Agents drained at once: at most as many nodes as a stack may declare in one entry. */
    maxUnavailable: { min: 1, max: 500 },
    /** Reinstalls of a SWAS server that kept its instance id. */
    hostKeyGeneration: { min: 0, max: 1000 },
    /** Admin credentials issued (each revokes the ones before). */
    adminCredentialGeneration: { min: 1, max: 1000 },
    /** CA rotations done by hand. */
    caGeneration: { min: 0, max: 1000 },
    /** Rules in one Vultr firewall group (50 by default; Vultr raises it per account on request). */
    vultrFirewallRuleLimit: { min: 1, max: 1000 },
} as const;
