import { createHash } from "node:crypto";

/**
 * The command-line contract of the host toolkit: what a step may call on a host. Steps store these calls in Pulumi
 * state (a removal step's delete runs years later with the inputs stored today), so a contract, once released, is
 * never changed: a flag is never removed or given another meaning, and the toolkit keeps answering every contract it
 * ever spoke. A contract may gain an optional flag (a call without it means what it meant before): the prepare step
 * delivers the toolkit before any step of the node runs, so a host never sees a flag its toolkit does not know.
 * Anything else - a changed flag, a new required one - goes into a new contract ("v2").
 */
export const TOOLKIT_CONTRACT = "v1";

/** Every contract the toolkit delivered by this release answers (`k3smc status` lists them). */
export const SUPPORTED_CONTRACTS: readonly string[] = ["v1"];

/** Where the toolkit lives on every host; steps call this path, the delivery switches it atomically. */
export const TOOLKIT_HOME = "/opt/k3s-multicloud";
export const TOOLKIT_PATH = `${TOOLKIT_HOME}/bin/k3smc`;

interface VerbSpec {
    /** What the verb does, for `k3smc help`. */
    readonly summary: string;
    /** The flags it takes, in the order calls render them (long values last, so a preview stays readable). */
    readonly flags: readonly string[];
    /** Flags whose value must be a whole number (the toolkit checks them again before any arithmetic). */
    readonly wholeNumbers?: readonly string[];
}

/**
 * The verbs of contract v1 and their flags: declared once, here. The toolkit bundle generates its flag parser from
 * this table, so a call the program renders and what the host accepts cannot drift apart.
 */
export const TOOLKIT_VERBS = {
    prepare: {
        summary: "root check, package-manager lock, WireGuard tools, kernel WireGuard probe (and kernel upgrade)",
        flags: ["node-name", "kube-proxy-mode", "kernel-policy", "previous-boot-id", "apt-lock-timeout"],
        wholeNumbers: ["apt-lock-timeout"],
    },
    install: {
        summary: "write config.yaml and the token (stdin), install or restart k3s, wait until the node is Ready",
        flags: ["node-name", "role", "version", "mirror", "ready-timeout", "node-identities", "registries", "config"],
        wholeNumbers: ["ready-timeout"],
    },
    apply: {
        summary: "apply the change install staged on a running node (between drain and uncordon)",
        flags: ["node-name", "role", "fingerprint", "ready-timeout"],
        wholeNumbers: ["ready-timeout"],
    },
    kubeconfig: {
        summary: "print an admin kubeconfig for a named identity bound to cluster-admin (servers)",
        flags: ["node-name", "credential-generation"],
        wholeNumbers: ["credential-generation"],
    },
    restart: {
        summary: "restart k3s so flannel re-reads its annotations, unless it already advertises the expected address",
        flags: ["node-name", "role", "expected-public-ip", "ready-timeout"],
        wholeNumbers: ["ready-timeout"],
    },
    prune: { summary: "remove WireGuard peers that route nothing", flags: ["node-name"] },
    firewall: {
        summary: "open k3s' ports to cluster members only (nftables, and ufw where it is active)",
        flags: ["node-name", "role", "members", "servers", "api-allowed", "cluster-cidrs", "member-ports", "pod-metadata"],
    },
    "mesh-check": {
        summary: "wait for a handshake with every peer at its public IP; fail in words when the mesh did not form",
        flags: ["node-name", "role", "peers", "mesh-timeout"],
        wholeNumbers: ["mesh-timeout"],
    },
    drain: { summary: "on a server: drain and delete, drain, or uncordon another node", flags: ["node-name", "target-node", "action"] },
    uninstall: { summary: "remove k3s with the uninstaller the installer left", flags: ["node-name", "role"] },
    fingerprint: { summary: "print the sha256 of the installed k3s version and config.yaml", flags: ["node-name"] },
    "ca-hash": { summary: "on a server: print the cluster CA's hash from the secure token k3s wrote", flags: ["node-name"] },
    status: { summary: "what this host runs: toolkit, k3s, fingerprint, WireGuard peers", flags: ["node-name"] },
} as const satisfies Record<string, VerbSpec>;

export type ToolkitVerb = keyof typeof TOOLKIT_VERBS;
type FlagOf<V extends ToolkitVerb> = (typeof TOOLKIT_VERBS)[V]["flags"][number];
export type ToolkitFlags<V extends ToolkitVerb> = { readonly [F in FlagOf<V>]?: string | number };

/**
 * Bumped on purpose when every node must run a step again although its data did not change (e.g. an install fix
 * that existing nodes need). A revision above 1 is added to the step's call as `--step-revision N`, which changes
 * the step's stored command, so `pulumi up` runs it once on every node. Script edits alone never do that.
 */
export const STEP_REVISIONS: Readonly<Record<ToolkitVerb, number>> = {
    prepare: 1,
    install: 1,
    apply: 1,
    kubeconfig: 1,
    restart: 1,
    prune: 1,
    firewall: 2,
    "mesh-check": 1,
    drain: 1,
    uninstall: 1,
    fingerprint: 1,
    "ca-hash": 1,
    status: 1,
};

/** Quotes a string for a POSIX shell: single quotes, with embedded single quotes closed, escaped and reopened. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Values made only of these characters need no quotes, which keeps calls easy to read in a preview. */
const PLAIN_WORD = /^[A-Za-z0-9_.:/+=@,-]+$/;

function shellWord(value: string): string {
    return PLAIN_WORD.test(value) ? value : shellQuote(value);
}

/**
 * The arguments of one toolkit call: `v1 <verb> --flag value ...`, flags in the contract's order. Pure: equal input
 * gives equal text, or every `pulumi up` would re-run the step.
 */
export function toolkitArgs<V extends ToolkitVerb>(verb: V, flags: ToolkitFlags<V>, revisions = STEP_REVISIONS): string {
    const spec: VerbSpec = TOOLKIT_VERBS[verb];
    const values = flags as Record<string, string | number | undefined>;
    for (const name of Object.keys(values)) {
        if (!spec.flags.includes(name)) throw new Error(`k3smc ${verb} takes no --${name}`);
    }
    const words = spec.flags.flatMap((name) => {
        const value = values[name];
        if (value === undefined) return [];
        if (spec.wholeNumbers?.includes(name) && !(Number.isSafeInteger(value) && Number(value) >= 0)) {
            throw new Error(`k3smc ${verb} --${name} must be a whole number, not ${JSON.stringify(value)}`);
        }
        return [`--${name}`, shellWord(String(value))];
    });
    const revision = revisions[verb];
    return [TOOLKIT_CONTRACT, verb, ...words, ...(revision > 1 ? ["--step-revision", String(revision)] : [])].join(" ");
}

/**
 * One toolkit call as a step's command: `[sudo -n] /opt/k3s-multicloud/bin/k3smc v1 <verb> --flag value ...`.
 * A non-root login runs it through `sudo -n`, which fails at once instead of waiting for a password.
 */
export function toolkitCall<V extends ToolkitVerb>(verb: V, flags: ToolkitFlags<V>, sudo: boolean, revisions = STEP_REVISIONS): string {
    return [...(sudo ? ["sudo", "-n"] : []), TOOLKIT_PATH, toolkitArgs(verb, flags, revisions)].join(" ");
}

/**
 * What a node runs, as one value: sha256 of the k3s version and the rendered config.yaml. The toolkit's
 * `fingerprint` verb computes the same from the installed version and the config.yaml on the host.
 */
export function nodeFingerprint(version: string, configYaml: string): string {
    return createHash("sha256").update(`${version}\n${configYaml}`).digest("hex");
}
