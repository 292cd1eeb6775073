import { ConfigError } from "./configError";

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A Kubernetes node name as this project accepts it: a DNS-1123 label (what `kubectl` and the kubelet accept
 * everywhere, and what a cloud hostname accepts too), at most 63 characters.
 */
export function validateNodeName(field: string, name: unknown): string {
    return validateDnsLabel(field, name, "node name", "web-1");
}

/**
 * A cluster name: it names the kubeconfig's cluster, context and user and prefixes every resource name, so it is a
 * DNS-1123 label too (anything else could break the kubeconfig it is written into).
 */
export function validateClusterName(field: string, name: unknown): string {
    return validateDnsLabel(field, name, "cluster name", "dev");
}

function validateDnsLabel(field: string, name: unknown, what: string, example: string): string {
    if (typeof name !== "string" || name.length === 0) {
        throw new ConfigError(field, name, `a ${what} is required`, `Give a DNS-1123 label such as "${example}".`);
    }
    if (name.length > 63) {
        throw new ConfigError(field, name, `is ${name.length} characters long, a ${what} may have at most 63`, "Use a shorter name.");
    }
    if (!DNS_1123_LABEL.test(name)) {
        throw new ConfigError(
            field,
            name,
            "is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
            `Use a name such as ${JSON.stringify(suggestLabel(name))}.`,
        );
    }
    return name;
}

/** The closest DNS-1123 label to a rejected name, offered in the error so the fix is one copy-paste away. */
export function suggestLabel(name: string): string {
    const cleaned = name
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 63)
        .replace(/-+$/g, "");
    return cleaned.length > 0 ? cleaned : "node-1";
}

/** Node names must be unique in one cluster: a second node of the same name would take over the first's Node object. */
export function assertUniqueNames(field: string, names: readonly string[]): void {
    const seen = new Set<string>();
    for (const name of names) {
        if (seen.has(name)) {
            throw new ConfigError(
                field,
                name,
                "is used by more than one node",
                "Give every node its own name (set nodeName on one of the hosts).",
            );
        }
        seen.add(name);
    }
}
