/**
 * The few YAML shapes a k3s config.yaml needs (scalars and lists of scalars), written deterministically. A full YAML
 * library would be more than this needs and could change its output between releases; the rendered text is what
 * users review in `pulumi preview`, so it must stay byte-stable.
 */

export type ConfigValue = string | number | boolean | readonly string[];

/** Strings YAML would read as something other than the same string, or that need quoting to parse at all. */
function needsQuotes(value: string): boolean {
    if (value.length === 0) return true;
    if (!/^[A-Za-z0-9._/:=@+,-]+$/.test(value)) return true;
    if (/^[-:]/.test(value)) return true;
    if (/^(true|false|yes|no|on|off|null|~)$/i.test(value)) return true;
    return /^[0-9+-.][0-9._+-]*$/.test(value) && !/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(value);
}

export function yamlScalar(value: string | number | boolean): string {
    if (typeof value !== "string") return String(value);
    return needsQuotes(value) ? JSON.stringify(value) : value;
}

/** One `key: value` entry, or a key with an indented list. */
export function yamlEntry(key: string, value: ConfigValue): string {
    if (Array.isArray(value)) {
        if (value.length === 0) return `${key}: []`;
        return [`${key}:`, ...value.map((item) => `  - ${yamlScalar(item)}`)].join("\n");
    }
    return `${key}: ${yamlScalar(value as string | number | boolean)}`;
}
