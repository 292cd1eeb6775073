import { ConfigError, ShownAs } from "../validation/configError";
import { validateNodeName } from "../validation/names";

/**
 * Pure checks of host component arguments. They run in the component constructors before any resource is
 * registered, so `pulumi preview` stops on the first bad input with a message naming field, value and fix.
 * Values that are Outputs (known only after create) are checked where they resolve instead.
 */

/** SWAS is prepaid by the month; these are the terms the API sells. */
export const SWAS_PERIODS = [1, 3, 6, 12, 24, 36] as const;

/** Alibaba Cloud region ids: "cn-hangzhou", "ap-southeast-1", "us-west-1". */
export const ALIYUN_REGION = /^[a-z]{2}(-[a-z0-9]+)+$/;
/** Vultr region ids: three or four letters, "ewr", "nrt", "fra". */
export const VULTR_REGION = /^[a-z]{3,4}$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SSH_PUBLIC_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/;

/** The prefix every field name in an error carries, e.g. `VultrServer(web-1).osId`. */
export function fieldOf(component: string, name: string, arg: string): string {
    return `${component}(${name}).${arg}`;
}

/** The node name a host component registers: `nodeName` when given, else the component's own name. */
export function resolveNodeName(component: string, name: string, nodeName: string | undefined): string {
    if (nodeName !== undefined) return validateNodeName(fieldOf(component, name, "nodeName"), nodeName);
    return validateNodeName(fieldOf(component, name, "name"), name);
}

export function validateRegion(field: string, region: unknown, pattern: RegExp, example: string): string {
    if (typeof region !== "string" || !pattern.test(region)) {
        throw new ConfigError(field, region, "is not a region id", `Use the provider's region id, e.g. "${example}".`);
    }
    return region;
}

export function validateSwasPeriod(field: string, period: unknown): number {
    if (!SWAS_PERIODS.includes(period as (typeof SWAS_PERIODS)[number])) {
        throw new ConfigError(
            field,
            period,
            "is not a term SWAS sells",
            `Use one of ${SWAS_PERIODS.join(", ")} (months, prepaid).`,
        );
    }
    return period as number;
}

/** Exactly one of two ways to say the same thing, e.g. `planId` or a `plan` lookup. */
export function requireExactlyOne(field: string, ...choices: Array<[string, unknown]>): void {
    const given = choices.filter(([, value]) => value !== undefined).map(([key]) => key);
    if (given.length === 1) return;
    const names = choices.map(([key]) => key);
    const all = `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
    throw new ConfigError(
        field,
        // Which ones were given, never their values (credentials among them).
        given.length === 0 ? undefined : new ShownAs("(set)"),
        given.length === 0
            ? names.length === 2
                ? `neither ${names[0]} nor ${names[1]} is set`
                : `none of ${all} is set`
            : `${given.slice(0, -1).join(", ")} and ${given[given.length - 1]} are ${given.length === 2 ? "both" : "all"} set`,
        `Set exactly one of ${all}.`,
    );
}

/** Vultr's API takes the OS as a number; a string such as "1743" is a common slip from YAML config. */
export function validateVultrOsId(field: string, osId: unknown): number {
    if (typeof osId !== "number" || !Number.isInteger(osId) || osId <= 0) {
        throw new ConfigError(
            field,
            osId,
            "is not a Vultr OS id (a positive whole number)",
            typeof osId === "string" && /^[0-9]+$/.test(osId)
                ? `Write it as a number without quotes: ${osId}.`
                : "Look it up with `curl https://api.vultr.com/v2/os` or give osName instead, e.g. \"Ubuntu 24.04 LTS x64\".",
        );
    }
    return osId;
}

export function validateSshPublicKey(field: string, key: unknown): string {
    if (typeof key !== "string" || !SSH_PUBLIC_KEY.test(key.trim())) {
        throw new ConfigError(
            field,
            typeof key === "string" && key.length > 40 ? `${key.slice(0, 40)}...` : key,
            "is not an OpenSSH public key",
            "Paste one line of a .pub file, e.g. \"ssh-ed25519 AAAAC3Nza... you@laptop\".",
        );
    }
    return key.trim();
}

/**
 * A credential given as a plain string must not be empty. The value itself never appears in the message: only
 * whether it was empty, since an error text ends up in CI logs.
 */
export function validateCredential(field: string, value: unknown, fix: string): void {
    if (value === undefined || value === null) {
        throw new ConfigError(field, undefined, "a secret is required here", fix);
    }
    if (typeof value === "string" && value.trim().length === 0) {
        throw new ConfigError(field, "(empty)", "is an empty secret", fix);
    }
}

export function validateUnixUser(field: string, user: unknown): string {
    if (typeof user !== "string" || !UNIX_USER.test(user)) {
        throw new ConfigError(field, user, "is not a Unix user name", "Use the login name, e.g. \"root\" or \"ubuntu\".");
    }
    return user;
}

export function validateLocation(field: string, location: unknown): string {
    if (typeof location !== "string" || location.trim().length === 0) {
        throw new ConfigError(
            field,
            location,
            "a location is required",
            "Name the site or region the server is in, e.g. \"home-lab\" or \"fra\": servers must share one.",
        );
    }
    return location;
}
