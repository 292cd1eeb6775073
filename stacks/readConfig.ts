import * as pulumi from "@pulumi/pulumi";

/**
 * Every `k3s-multicloud:*` value of the stack: structured values arrive as JSON text, plain strings as themselves.
 * All of the namespace is read, not only the keys the program knows, so a typo'd key reaches parseStackConfig and is
 * refused there instead of being silently ignored.
 */
export function readRawConfig(config: pulumi.Config): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    const prefix = `${config.name}:`;
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
