import * as pulumi from "@pulumi/pulumi";
import { ConfigError, throwIfAny } from "../components/validation/configError";
import { nearestWord } from "../components/validation/suggest";

/**
 * Every `k3s-multicloud:*` value of the stack: structured values arrive as JSON text, plain strings as themselves.
 * All of the namespace is read, not only the keys the program knows, so a typo'd key reaches parseStackConfig and is
 * refused there instead of being silently ignored.
 */
export function readRawConfig(config: pulumi.Config): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    const prefix = `${config.name}:`;
    throwIfAny(misplacedKeys(Object.keys(pulumi.runtime.allConfig()), config.name));
    const keys = Object.keys(pulumi.runtime.allConfig())
        .filter((key) => key.startsWith(prefix) && !isSecretConfig(key))
        .map((key) => key.slice(prefix.length));
    for (const key of keys) {
        const text = config.get(key);
        if (text === undefined) continue;
        try {
            raw[key] = JSON.parse(text);
        } catch {
            raw[key] = text;
        }
    }
    return raw;
}

/**
 * Encrypted values (`pulumi config set --secret`: the SSH keys and passwords the program reads with requireSecret)
 * are not settings: they are skipped here, unread. The SDK's check is internal (not in its typings), hence the guard.
 */
function isSecretConfig(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret?.(fullKey) ?? false;
}

/**
 * Keys in a namespace that looks like this program's but is not (`k3s:nodeTaints`, `k3s-multicluod:nodes`): the
 * program would never read them, and the user expects them applied. Their values are not shown (one may be a secret).
 */
export function misplacedKeys(keys: readonly string[], namespace: string): ConfigError[] {
    return keys
        .filter((key) => key.includes(":"))
        .map((key) => ({ key, ns: key.slice(0, key.indexOf(":")), setting: key.slice(key.indexOf(":") + 1) }))
        .filter(({ ns }) => ns !== namespace && (ns.startsWith("k3s") || nearestWord(ns, [namespace]) !== undefined))
        .map(
            ({ key, ns, setting }) =>
                new ConfigError(key, "(not read)", `is in the namespace ${ns}, which this program does not read`, `Write it as ${namespace}:${setting} (pulumi config set ${namespace}:${setting} ...).`),
        );
}
