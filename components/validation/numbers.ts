import { ConfigError } from "./configError";

/**
 * A count or a number of seconds: a whole number, at least `min`. Such values reach shell arithmetic on hosts, so
 * anything else is refused here, before anything is registered (and the toolkit checks again on the host).
 */
export function requireWholeNumber(field: string, value: number, min: number, problem: string, fix: string): number {
    if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(field, value, problem, fix);
    return value;
}
