import { ConfigError } from "./configError";

/** Kubernetes rules for label and annotation keys and label values (apimachinery validation, as kubectl applies it). */

const NAME_PART = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/** A label or annotation key: an optional DNS subdomain prefix and "/", then a name of at most 63 characters. */
export function validateQualifiedKey(field: string, key: string): string {
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const problems: string[] = [];
    if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_1123_SUBDOMAIN.test(prefix))) {
        problems.push("its prefix before '/' must be a lowercase DNS subdomain of at most 253 characters");
    }
    if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
        problems.push(
            "its name must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        );
    }
    if (problems.length > 0) {
        throw new ConfigError(
            field,
            key,
            `is not a valid Kubernetes key: ${problems.join("; ")}`,
            "Use a key such as \"example.com/role\" or \"role\".",
        );
    }
    return key;
}

/** A label value: empty, or at most 63 characters of letters, digits, '-', '_' and '.', alphanumeric at both ends. */
export function validateLabelValue(field: string, value: string): string {
    if (value.length > 63 || (value.length > 0 && !NAME_PART.test(value))) {
        throw new ConfigError(
            field,
            value,
            "is not a valid label value (at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit)",
            "Shorten it or replace other characters, e.g. with '-'; free text belongs in an annotation.",
        );
    }
    return value;
}

/** A taint as k3s' node-taint takes it: key[=value]:Effect. */
export function validateTaint(field: string, taint: string): string {
    const match = /^([^=:]+)(?:=([^:]*))?:([A-Za-z]+)$/.exec(taint);
    if (!match || !TAINT_EFFECTS.includes(match[3])) {
        throw new ConfigError(
            field,
            taint,
            "is not a taint (key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute)",
            "Write it like \"dedicated=edge:NoSchedule\".",
        );
    }
    validateQualifiedKey(field, match[1]);
    if (match[2] !== undefined) validateLabelValue(field, match[2]);
    return taint;
}

/** Validates a map of labels, naming each key in errors. */
export function validateLabels(field: string, labels: Readonly<Record<string, string>>): void {
    for (const [key, value] of Object.entries(labels)) {
        validateQualifiedKey(`${field}[${JSON.stringify(key)}]`, key);
        validateLabelValue(`${field}[${JSON.stringify(key)}]`, value);
    }
}
