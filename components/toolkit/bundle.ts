import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { SUPPORTED_CONTRACTS, TOOLKIT_HOME, TOOLKIT_VERBS, ToolkitVerb, shellQuote } from "./contract";

/** The toolkit as it travels to a host: one bash file, its identity and its compressed form. */
export interface ToolkitBundle {
    /** First 16 hex digits of the sha256 of the toolkit's code: names its directory on the host. */
    readonly id: string;
    /** sha256 of `text`; the delivery refuses a file that does not match. */
    readonly sha256: string;
    /** The whole `k3smc` file. */
    readonly text: string;
    /** `text` gzip-compressed and base64-encoded: what the delivery reads on stdin. */
    readonly payload: string;
}

/** The host side of the toolkit: lib.sh, one file per verb, main.sh. Shipped in the package (see package.json files). */
export const HOST_DIR = join(__dirname, "host");

/**
 * Comment-only lines are dropped from what travels: they would grow every node's stored state, and a comment edit
 * then changes nothing on any host. Shellcheck directives go too (they only matter to the linter, which reads the
 * source files). The shebang stays.
 */
export function stripComments(text: string): string {
    return text
        .split("\n")
        .filter((line) => !/^\s*#/.test(line) && line.trim() !== "")
        .join("\n");
}

/** Bash functions generated from the contract table: the flags of each verb, and which must be whole numbers. */
function contractFunctions(): string {
    const verbs = Object.keys(TOOLKIT_VERBS) as ToolkitVerb[];
    const flags = verbs.map((verb) => `        ${verb}) echo "${TOOLKIT_VERBS[verb].flags.join(" ")}" ;;`);
    const numbers = verbs
        .filter((verb) => "wholeNumbers" in TOOLKIT_VERBS[verb])
        .map((verb) => `        ${verb}) echo "${(TOOLKIT_VERBS[verb] as { wholeNumbers: readonly string[] }).wholeNumbers.join(" ")}" ;;`);
    return [
        "k3smc_flags() {",
        '    case "${1:-}" in',
        ...flags,
        `        "") echo "${verbs.join(" ")}" ;;`,
        "    esac",
        "}",
        "k3smc_whole_numbers() {",
        '    case "$1" in',
        ...numbers,
        "    esac",
        "}",
    ].join("\n");
}

function readHost(file: string): string {
    return readFileSync(join(HOST_DIR, file), "utf8");
}

/**
 * The toolkit's code, without its identity line: lib.sh, the contract functions, one function per verb, main.sh.
 * `keepComments` gives the linter the same program with its comments (and shellcheck directives).
 */
export function toolkitBody(read: (file: string) => string = readHost, { keepComments = false } = {}): string {
    const source = (file: string) => (keepComments ? read(file).trimEnd() : stripComments(read(file)));
    const verbs = (Object.keys(TOOLKIT_VERBS) as ToolkitVerb[]).map(
        (verb) => `k3smc_verb_${verb.replace(/-/g, "_")}() {\n${source(`verbs/${verb}.sh`)}\n}`,
    );
    return [source("lib.sh"), contractFunctions(), ...verbs, source("main.sh")].join("\n") + "\n";
}

/** Builds the bundle from the given host files (default: the shipped ones). */
export function buildToolkit(read?: (file: string) => string): ToolkitBundle {
    const body = toolkitBody(read);
    const id = createHash("sha256").update(body).digest("hex").slice(0, 16);
    const text = [
        "#!/usr/bin/env bash",
        `# k3s-multicloud host toolkit ${id}. Generated from components/toolkit/host in the k3s-multicloud package.`,
        `K3SMC_TOOLKIT_ID=${id}`,
        `K3SMC_CONTRACTS="${SUPPORTED_CONTRACTS.join(" ")}"`,
        `TOOLKIT_HOME=${TOOLKIT_HOME}`,
        body,
    ].join("\n");
    return {
        id,
        sha256: createHash("sha256").update(text).digest("hex"),
        text,
        payload: gzipSync(Buffer.from(text), { level: 9 }).toString("base64"),
    };
}

/**
 * The compressed toolkit as committed with the release (`npm run toolkit:payload` writes it). gzip's output depends on
 * the zlib build (Node versions, distributions' shared zlib), and the payload is a stored input of every prepare step:
 * compressing at run time would make `pulumi up` on another machine plan an update of every node. The committed bytes
 * are used whenever they decompress to exactly the toolkit built from the host files; a test keeps them in step.
 */
export const PAYLOAD_FILE = join(__dirname, "k3smc.payload");

/** The committed payload if it holds exactly `text`, else undefined. */
export function committedPayload(text: string): string | undefined {
    try {
        const payload = readFileSync(PAYLOAD_FILE, "utf8").trim();
        return gunzipSync(Buffer.from(payload, "base64")).toString("utf8") === text ? payload : undefined;
    } catch {
        return undefined;
    }
}

let shipped: ToolkitBundle | undefined;

/** The toolkit this release delivers (built once per process), with the committed payload bytes. */
export function shippedToolkit(): ToolkitBundle {
    if (!shipped) {
        const built = buildToolkit();
        shipped = { ...built, payload: committedPayload(built.text) ?? built.payload };
    }
    return shipped;
}

/**
 * The delivery, run with sudo before the prepare verb in the same SSH session: installs the toolkit from stdin into
 * /opt/k3s-multicloud/toolkit/<id>/ (checked against its sha256, written beside and renamed into place), switches
 * /opt/k3s-multicloud/bin/k3smc to it atomically, removes other toolkit versions (the new one answers every
 * contract they did) and runs the rest of its arguments with it. A host that has this toolkit already reads nothing.
 * Kept small and stable on purpose: its text is part of every node's prepare step.
 */
const DELIVERY = [
    "set -eu",
    "umask 022",
    `top=${TOOLKIT_HOME} id=$1 sum=$2`,
    "shift 2",
    '[ "$(id -u)" = 0 ] || { echo "k3s-multicloud: installing the toolkit needs root; connect as root or a user with passwordless sudo" >&2; exit 1; }',
    'dir=$top/toolkit/$id',
    'if [ ! -x "$dir/k3smc" ]; then',
    '  mkdir -p "$top/toolkit" "$top/bin"',
    '  new=$(mktemp -d "$top/toolkit/.new-XXXXXX")',
    '  base64 -d | gzip -dc >"$new/k3smc"',
    '  if ! printf "%s  %s\\n" "$sum" "$new/k3smc" | sha256sum -c --status; then rm -rf "$new"; echo "k3s-multicloud: the toolkit $id arrived damaged (sha256 differs); run pulumi up again" >&2; exit 1; fi',
    '  chmod 0755 "$new" "$new/k3smc"',
    '  rm -rf "$dir"',
    '  mv "$new" "$dir"',
    '  echo "k3s-multicloud: toolkit $id installed in $dir"',
    "fi",
    'ln -sfn "../toolkit/$id/k3smc" "$top/bin/.k3smc.new"',
    'mv -Tf "$top/bin/.k3smc.new" "$top/bin/k3smc"',
    'for old in "$top"/toolkit/* "$top"/toolkit/.new-*; do if [ -e "$old" ] && [ "$old" != "$dir" ]; then rm -rf "$old"; fi; done',
    'exec "$top/bin/k3smc" "$@"',
].join("\n");

/**
 * The command of the step that delivers the toolkit and then runs `call` (a toolkit call without its path, e.g.
 * `v1 prepare --node-name x`) in one SSH session. The toolkit's id and sha256 are in the text, so a new toolkit
 * changes this step and no other.
 */
export function deliveryCommand(bundle: ToolkitBundle, call: string, sudo: boolean): string {
    return [...(sudo ? ["sudo", "-n"] : []), "sh", "-c", shellQuote(DELIVERY), "k3smc-deliver", bundle.id, bundle.sha256, call].join(" ");
}

/** The relay that local steps run on the machine running `pulumi` (see relay.sh), as one command text. */
export type RelayMode = "remove" | "upgrade";

let relayText: string | undefined;

export function relayCommand(mode: RelayMode): string {
    relayText ??= stripComments(readFileSync(join(__dirname, "relay.sh"), "utf8"));
    // Not `ssh-agent bash ...`: the relay starts its agent itself, after checking that OpenSSH is there.
    return ["bash", "--norc", "-c", shellQuote(relayText), "k3smc-relay", mode].join(" ");
}

let keyscanText: string | undefined;

/** The host-key step's command (see keyscan.sh): it runs on the machine running `pulumi`, before any SSH session. */
export function keyscanCommand(): string {
    keyscanText ??= stripComments(readFileSync(join(__dirname, "keyscan.sh"), "utf8"));
    // --norc: bash reads ~/.bashrc when its stdin looks like a network connection, as the provider's may.
    return ["bash", "--norc", "-c", shellQuote(keyscanText), "k3smc-keyscan"].join(" ");
}
