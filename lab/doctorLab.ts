import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CheckRow, DoctorNode } from "../components/doctor/diagnose";
import { exitStatus } from "../components/doctor/report";
import { runDoctor } from "../components/doctor/runDoctor";
import { LabContext, labSwasPassword, withLabCluster } from "./lab";
import { LAB_NODES } from "./program";
import { LAB_ADDRESSES, sleep } from "./world";

/**
 * doctor against the namespace lab, for real: the lab's cluster healthy, then broken one way at a time on the running
 * hosts (each break undone before the next). doctor runs from the runner's namespace (the machine running `pulumi`),
 * over SSH with the pinned host keys, as a user would run it.
 */
export const DOCTOR_SCENARIOS = [
    "healthy",
    "nat-advertises-private",
    "udp-51820-blocked",
    "stale-peer",
    "k3s-stopped-on-agent",
    "wrong-host-key",
    "annotation-differs",
] as const;
export type DoctorScenario = (typeof DOCTOR_SCENARIOS)[number];

export interface DoctorScenarioResult {
    readonly scenario: DoctorScenario;
    readonly exitStatus: number;
    readonly rows: readonly CheckRow[];
    readonly seconds: number;
}

/** The lab's three nodes as the stack's outputs describe them. */
function labNodes(ctx: LabContext): DoctorNode[] {
    return [
        { name: LAB_NODES.swas, role: "server", publicIp: LAB_ADDRESSES.swasPublic, privateIp: LAB_ADDRESSES.swasPrivate, behindNat: true, sshUser: "root", sshPort: 22, hostKey: ctx.world.hostPublicKey("swas") },
        { name: LAB_NODES.vultr, role: "agent", publicIp: LAB_ADDRESSES.vultr, privateIp: LAB_ADDRESSES.vultr, behindNat: false, sshUser: "root", sshPort: 22, hostKey: ctx.world.hostPublicKey("vultr") },
        { name: LAB_NODES.home, role: "agent", publicIp: LAB_ADDRESSES.homePublic, privateIp: LAB_ADDRESSES.homePrivate, behindNat: true, sshUser: ctx.world.homeUser, sshPort: 22, hostKey: ctx.world.hostPublicKey("home") },
    ];
}

export async function runDoctorLab(options: { readonly scenarios?: readonly DoctorScenario[]; readonly progress?: (line: string) => void } = {}): Promise<DoctorScenarioResult[]> {
    const progress = options.progress ?? (() => undefined);
    return withLabCluster({ progress, meshTimeoutSeconds: 20 }, async (ctx) => {
        // k3s listening on 6443 (the server) and 10250 (every node), as the lab's port probes stand for it.
        await ctx.probe.start();
        const password = labSwasPassword(ctx.steps);
        const clientKey = readFileSync(ctx.world.clientKey, "utf8");
        const doctor = async (scenario: DoctorScenario, nodes = labNodes(ctx)): Promise<DoctorScenarioResult> => {
            const started = Date.now();
            const rows = await runDoctor({
                nodes,
                k3sVersion: "v1.33.6+k3s1",
                credentialFor: (node) => (node.name === LAB_NODES.swas ? { password } : { privateKey: clientKey }),
                prefix: ["ip", "netns", "exec", ctx.world.runnerNs],
                progress,
            });
            const result = { scenario, exitStatus: exitStatus(rows), rows, seconds: (Date.now() - started) / 1000 };
            progress(`doctor ${scenario}: exit ${result.exitStatus}, ${rows.filter((r) => r.verdict === "fail").length} failing rows, ${result.seconds.toFixed(1)} s`);
            return result;
        };
        const results: DoctorScenarioResult[] = [];
        const wanted = new Set(options.scenarios ?? DOCTOR_SCENARIOS);
        for (const scenario of DOCTOR_SCENARIOS.filter((s) => wanted.has(s))) {
            switch (scenario) {
                case "healthy":
                    results.push(await doctor(scenario));
                    break;
                case "nat-advertises-private": {
                    // The write-up's bug on the running SWAS host: no node-external-ip, no overwrite, k3s restarted.
                    const config = join(ctx.world.hosts.swas.root, "etc/rancher/k3s/config.yaml");
                    const before = readFileSync(config, "utf8");
                    writeFileSync(config, before.replace(/^node-external-ip:.*\n/m, ""));
                    mustKubectl(ctx, ["annotate", "node", LAB_NODES.swas, "flannel.alpha.coreos.com/public-ip-overwrite-"]);
                    await restartK3s(ctx, "swas");
                    await sleep(1500);
                    results.push(await doctor(scenario));
                    writeFileSync(config, before);
                    await restartK3s(ctx, "swas");
                    await sleep(1500);
                    break;
                }
                case "udp-51820-blocked": {
                    // WireGuard between the SWAS and Vultr hosts dropped on the way, and the Vultr host's flannel restarted
                    // with a new key: the new peer never completes a handshake.
                    const router = ctx.world.ns("swasrt");
                    const block = `table ip lab_block {\n chain forward {\n  type filter hook forward priority 0;\n  ip saddr ${LAB_ADDRESSES.vultr} udp dport 51820 drop\n  ip daddr ${LAB_ADDRESSES.vultr} udp sport 51820 drop\n }\n}\n`;
                    ctx.world.inNamespace(router, ["nft", "-f", "-"], { input: block });
                    const rebooted = ctx.world.rebootFlannel("vultr");
                    if (rebooted) throw new Error(rebooted);
                    await sleep(2000);
                    results.push(await doctor(scenario));
                    ctx.world.inNamespace(router, ["nft", "delete", "table", "ip", "lab_block"]);
                    await sleep(3000);
                    break;
                }
                case "stale-peer": {
                    const stale = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=";
                    ctx.world.inHost("vultr", ["wg", "set", "flannel-wg", "peer", stale, "endpoint", "198.51.100.77:51820", "allowed-ips", "10.42.99.0/24"]);
                    results.push(await doctor(scenario));
                    ctx.world.inHost("vultr", ["wg", "set", "flannel-wg", "peer", stale, "remove"]);
                    break;
                }
                case "k3s-stopped-on-agent": {
                    ctx.world.inHost("home", ["systemctl", "stop", "k3s-agent"], { env: ctx.world.sessionEnv("home") });
                    await sleep(500);
                    results.push(await doctor(scenario));
                    await restartK3s(ctx, "home");
                    await sleep(1500);
                    break;
                }
                case "wrong-host-key": {
                    const nodes = labNodes(ctx).map((n) => (n.name === LAB_NODES.home ? { ...n, hostKey: ctx.world.hostPublicKey("vultr") } : n));
                    results.push(await doctor(scenario, nodes));
                    break;
                }
                case "annotation-differs": {
                    // Someone annotates the Node by hand, on the real API.
                    const key = "flannel.alpha.coreos.com/public-ip-overwrite";
                    const before = mustKubectl(ctx, ["get", "node", LAB_NODES.vultr, "-o", "jsonpath={.metadata.annotations.flannel\\.alpha\\.coreos\\.com/public-ip-overwrite}"]);
                    mustKubectl(ctx, ["annotate", "--overwrite", "node", LAB_NODES.vultr, `${key}=198.51.100.99`]);
                    results.push(await doctor(scenario));
                    mustKubectl(ctx, ["annotate", "--overwrite", "node", LAB_NODES.vultr, before ? `${key}=${before}` : `${key}-`]);
                    break;
                }
            }
        }
        return results;
    });
}

/** kubectl on the lab's API server; a failure is the lab's, not doctor's, so it throws. */
function mustKubectl(ctx: LabContext, args: readonly string[]): string {
    const run = ctx.world.kubectl(args);
    if (run.status !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${run.stderr}`);
    return run.stdout;
}

async function restartK3s(ctx: LabContext, kind: "swas" | "vultr" | "home"): Promise<void> {
    ctx.world.inHost(kind, ["systemctl", "restart", kind === "swas" ? "k3s" : "k3s-agent"], { env: ctx.world.sessionEnv(kind) });
    // Ready again in the API (the stand-in reports NotReady while it stops, Ready once flannel is up).
    for (let i = 0; i < 40; i++) {
        if (ctx.world.kubectl(["get", "node", LAB_NODES[kind], "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout.trim() === "True") return;
        await sleep(250);
    }
}
