import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS } from "./stackConfig";

/** The raw `k3s-multicloud:*` values: structured values arrive as JSON text, plain strings as themselves. */
export function readRawConfig(config: pulumi.Config): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const key of CONFIG_KEYS) {
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
