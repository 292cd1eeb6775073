/**
 * The few YAML shapes a k3s config.yaml needs (scalars and lists of scalars), written deterministically. A full YAML
 * library would be more than this needs and could change its output between releases; the rendered text is what
 * users review in `pulumi preview`, so it must stay byte-stable.
 */

export type ConfigValue = string | number | boolean | readonly string[];

/**
 * Strings YAML would read as something other than the same string, or that need quoting to parse at all: anything
 * outside a plain set of characters, a leading indicator (`-`, `:`, `@`), a trailing `:` (`evil:` would be a map),
 * YAML 1.1 booleans and null (`y`, `no`, `~`), and number forms (`1.5`, `1e3`, `0x1F`, `0o17`). Plain words, IPv4
 * addresses, URLs and `key=value` stay bare, so configs rendered by earlier releases keep their bytes.
 */
function needsQuotes(value: string): boolean {
    if (value.length === 0) return true;
    if (!/^[A-Za-z0-9._/:=@+,-]+$/.test(value)) return true;
    if (/^[-:@]/.test(value) || value.endsWith(":")) return true;
    if (/^(true|false|yes|no|y|n|on|off|null|~)$/i.test(value)) return true;
    if (/^[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+$/.test(value) || /^0[xXoObB][0-9A-Fa-f_]+$/.test(value)) return true;
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
