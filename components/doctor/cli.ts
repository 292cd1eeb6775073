#!/usr/bin/env node
// `k3s-multicloud doctor`: the stack's outputs on stdin (`pulumi stack output --json`), SSH credentials from the
// stack's config or a key file, a read-only check of every node. See docs/operations.md, "Operating the cluster".
import { readFileSync } from "node:fs";
import { ClusterNodeInfo } from "../k3s/k3sCluster";
import { NodeSpec } from "../multicloud/clusterSpec";
import { secretNameOf } from "../multicloud/validateSpec";
import { DoctorNode } from "./diagnose";
import { exitStatus, renderReport } from "./report";
import { NodeCredential, runDoctor } from "./runDoctor";

const USAGE = `usage: pulumi stack output --json | k3s-multicloud doctor [options]

Checks every node of the cluster over SSH, read-only: SSH and host key, WireGuard, k3s, the addresses flannel
advertises, the mesh, the firewalls, clock, disk and certificates. Exit 0 when nothing fails (warnings alone are 0).

options:
  --config <file>    the stack's config with its secrets: pulumi config --show-secrets --json > file
  --state <file>     for Alibaba lightweight servers' root passwords: pulumi stack export --show-secrets > file
  --key-file <path>  a private key for every node that has no other credential
  --json             rows as JSON instead of the table
  --parallel <n>     nodes checked at once (default 8)
  --timeout <s>      seconds per node, SSH included (default 45)
`;

interface CliOptions {
    config?: string;
    state?: string;
    keyFile?: string;
    json: boolean;
    parallel: number;
    timeout: number;
}

function parseArgs(argv: readonly string[]): CliOptions | string {
    const options: CliOptions = { json: false, parallel: 8, timeout: 45 };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            const next = argv[++i];
            if (next === undefined) throw new Error(`${arg} needs a value`);
            return next;
        };
        switch (arg) {
            case "--help":
            case "-h":
                return USAGE;
            case "--config":
                options.config = value();
                break;
            case "--state":
                options.state = value();
                break;
            case "--key-file":
                options.keyFile = value();
                break;
            case "--json":
                options.json = true;
                break;
            case "--parallel":
                options.parallel = wholeNumber(arg, value(), 1, 64);
                break;
            case "--timeout":
                options.timeout = wholeNumber(arg, value(), 5, 600);
                break;
            default:
                throw new Error(`unknown option ${arg}\n\n${USAGE}`);
        }
    }
    return options;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be a whole number from ${min} to ${max}, not ${text}`);
    return n;
}

/** The nodes as the stack's outputs describe them (0.4.0 and later export the SSH user, port and host key). */
export function nodesFromOutputs(outputs: Record<string, unknown>): { nodes: DoctorNode[]; k3sVersion: string } {
    const nodes = outputs.nodes as ClusterNodeInfo[] | undefined;
    if (!Array.isArray(nodes) || typeof outputs.k3sVersion !== "string") {
        throw new Error("stdin holds no stack outputs with `nodes` and `k3sVersion`: pipe `pulumi stack output --json` of a k3s-multicloud stack into doctor");
    }
    if (nodes.some((n) => typeof n.sshUser !== "string")) {
        throw new Error("these outputs come from a release before 0.4.0, which did not export each node's SSH user, port and host key: run `pulumi up` with this release first");
    }
    return {
        k3sVersion: outputs.k3sVersion,
        nodes: nodes.map((n) => ({ name: n.name, role: n.role, publicIp: n.publicIp, privateIp: n.privateIp, behindNat: n.behindNat, sshUser: n.sshUser, sshPort: n.sshPort, hostKey: n.hostKey })),
    };
}

/**
 * Each node's credential: the secret its stack settings name (`pulumi config --show-secrets --json`), an Alibaba
 * server's generated root password (`pulumi stack export --show-secrets`), else the key file.
 */
export function credentialsFrom(config: Record<string, { value?: string }> | undefined, state: unknown, keyFile: string | undefined): (node: DoctorNode) => NodeCredential | undefined {
    const setting = (key: string) => config?.[`k3s-multicloud:${key}`]?.value;
    let specs: NodeSpec[] = [];
    try {
        specs = JSON.parse(setting("nodes") ?? "[]") as NodeSpec[];
    } catch {
        specs = [];
    }
    const resources = ((state as { deployment?: { resources?: Array<{ urn: string; type: string; outputs?: Record<string, unknown> }> } })?.deployment?.resources ?? []);
    return (node) => {
        const spec = specs.find((s) => s.name === node.name || (s.count !== undefined && node.name.startsWith(`${s.name}-`)));
        if (spec?.cloud === "aliyun") {
            const password = resources.find((r) => r.type === "random:index/randomPassword:RandomPassword" && r.urn.endsWith(`::${node.name}-root-password`))?.outputs?.result;
            if (typeof password === "string") return { password };
        }
        const name = spec ? secretNameOf(spec) : undefined;
        const value = name ? setting(name) : undefined;
        if (value) return spec?.cloud === "existing" && spec.passwordSecret ? { password: value } : { privateKey: value };
        return keyFile ? { privateKey: readFileSync(keyFile, "utf8") } : undefined;
    };
}

async function main(): Promise<number> {
    const [command, ...rest] = process.argv.slice(2);
    if (command !== "doctor") {
        process.stdout.write(USAGE);
        return command === undefined || command === "--help" || command === "-h" ? 0 : 2;
    }
    const parsed = parseArgs(rest);
    if (typeof parsed === "string") {
        process.stdout.write(parsed);
        return 0;
    }
    const { nodes, k3sVersion } = nodesFromOutputs(JSON.parse(readFileSync(0, "utf8")) as Record<string, unknown>);
    const config = parsed.config ? (JSON.parse(readFileSync(parsed.config, "utf8")) as Record<string, { value?: string }>) : undefined;
    const state = parsed.state ? JSON.parse(readFileSync(parsed.state, "utf8")) : undefined;
    const rows = await runDoctor({
        nodes,
        k3sVersion,
        credentialFor: credentialsFrom(config, state, parsed.keyFile),
        parallel: parsed.parallel,
        perNodeSeconds: parsed.timeout,
        progress: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(parsed.json ? `${JSON.stringify(rows, null, 2)}\n` : renderReport(rows));
    return exitStatus(rows);
}

if (require.main === module) {
    main().then(
        (status) => process.exit(status),
        (error: unknown) => {
            process.stderr.write(`k3s-multicloud doctor: ${error instanceof Error ? error.message : String(error)}\n`);
            process.exit(2);
        },
    );
}
