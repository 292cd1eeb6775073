import { ConfigError } from "../validation/configError";
import { SUPPORTED_MINORS } from "./k3sFlags";

/** A k3s release, e.g. v1.33.6+k3s1. */
export interface K3sVersion {
    readonly text: string;
    readonly major: number;
    readonly minor: number;
    readonly patch: number;
    readonly k3sRevision: number;
}

const VERSION = /^v([0-9]+)\.([0-9]+)\.([0-9]+)\+k3s([0-9]+)$/;

/** Releases before this have no `wireguard-native` flannel backend (it arrived in v1.23.6+k3s1). */
const FIRST_WIREGUARD_NATIVE: K3sVersion = { text: "v1.23.6+k3s1", major: 1, minor: 23, patch: 6, k3sRevision: 1 };

/**
 * Parses and checks a pinned k3s version. Channels ("stable", "latest") are refused: a pinned version is what makes
 * a re-run change nothing and an upgrade show up in the preview.
 */
export function parseK3sVersion(field: string, text: unknown): K3sVersion {
    const match = typeof text === "string" ? VERSION.exec(text) : null;
    if (!match) {
        throw new ConfigError(
            field,
            text,
            "is not a pinned k3s release (vMAJOR.MINOR.PATCH+k3sN)",
            `Pin a release from https://github.com/k3s-io/k3s/releases, e.g. "v1.33.6+k3s1"; channels such as "stable" are not accepted.`,
        );
    }
    const version: K3sVersion = {
        text: text as string,
        major: Number(match[1]),
        minor: Number(match[2]),
        patch: Number(match[3]),
        k3sRevision: Number(match[4]),
    };
    if (compareK3sVersions(version, FIRST_WIREGUARD_NATIVE) < 0) {
        throw new ConfigError(
            field,
            text,
            `predates the wireguard-native flannel backend (first in ${FIRST_WIREGUARD_NATIVE.text}), which this project uses to encrypt traffic between clouds`,
            `Use a supported release: v${SUPPORTED_MINORS[0]} to v${SUPPORTED_MINORS[SUPPORTED_MINORS.length - 1]}.`,
        );
    }
    const minorText = `${version.major}.${version.minor}`;
    if (!(SUPPORTED_MINORS as readonly string[]).includes(minorText)) {
        throw new ConfigError(
            field,
            text,
            `is k3s ${minorText}, whose flag list this project has not checked (supported: ${SUPPORTED_MINORS.join(", ")})`,
            `Use a release of a supported minor, e.g. v${SUPPORTED_MINORS[SUPPORTED_MINORS.length - 1]}.x+k3s1 (see its releases), or a release of this library that supports ${minorText}.`,
        );
    }
    return version;
}

/** Negative when a is older than b, zero when equal, positive when newer. */
export function compareK3sVersions(a: K3sVersion, b: K3sVersion): number {
    return a.major - b.major || a.minor - b.minor || a.patch - b.patch || a.k3sRevision - b.k3sRevision;
}
