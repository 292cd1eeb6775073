// `npm run doctor -- <stack>`: doctor for a stack of this repository. It asks the Pulumi CLI (in stacks/) for the
// stack's outputs, its config with secrets and its state (Alibaba servers' generated root passwords), keeps them in
// memory only, and runs the same checks as `k3s-multicloud doctor`.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { credentialsFrom, nodesFromOutputs } from "../components/doctor/cli";
import { exitStatus, renderReport } from "../components/doctor/report";
import { runDoctor } from "../components/doctor/runDoctor";

async function main(): Promise<number> {
    const [stack, ...flags] = process.argv.slice(2);
    const usage = "usage: npm run doctor -- <stack> [--json]\n  reads the stack's outputs, config (with secrets) and state through the Pulumi CLI in stacks/, then checks every node over SSH, read-only\n";
    if (stack === "--help" || stack === "-h") {
        process.stdout.write(usage);
        return 0;
    }
    if (!stack || stack.startsWith("-")) {
        process.stderr.write(usage);
        return 2;
    }
    const pulumi = (...args: string[]) => execFileSync("pulumi", [...args, "--stack", stack], { cwd: join(__dirname), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    const { nodes, k3sVersion } = nodesFromOutputs(JSON.parse(pulumi("stack", "output", "--json")));
    const config = JSON.parse(pulumi("config", "--show-secrets", "--json"));
    const state = JSON.parse(pulumi("stack", "export", "--show-secrets"));
    const rows = await runDoctor({ nodes, k3sVersion, credentialFor: credentialsFrom(config, state, undefined), progress: (line) => process.stderr.write(`${line}\n`) });
    process.stdout.write(flags.includes("--json") ? `${JSON.stringify(rows, null, 2)}\n` : renderReport(rows));
    return exitStatus(rows);
}

main().then(
    (status) => process.exit(status),
    (error: unknown) => {
        process.stderr.write(`doctor: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(2);
    },
);
