import { HostKind, LabWorld, sleep } from "./world";

/** The k3s ports the lab probes: the API (servers only listen there) and the kubelet over TCP, flannel's WireGuard over UDP. */
export const PROBED_PORTS = ["6443/tcp", "10250/tcp", "51820/udp"] as const;

/**
 * Stands in for the kubelet (and the API server, where the real one does not run) listening on their ports: answers
 * "hi" on TCP 6443 and 10250. A port already taken (the first server's real kube-apiserver on 6443) is left to its
 * owner. A client that resets the connection (a port probe that only connects) must not take the listener down:
 * socket errors are ignored, as a server ignores a client that went away.
 */
const LISTENER = `
const net = require("node:net");
for (const port of [6443, 10250]) net.createServer((s) => { s.on("error", () => {}); s.end("hi"); }).on("error", () => {}).listen(port, "0.0.0.0");
`;

/** Counts, per source address, the UDP datagrams for 51820 that every filter let through (priority after the filters). */
function counterTable(sources: readonly string[]): string {
    return `table inet k3smc_lab_probe {
        chain input {
            type filter hook input priority 100; policy accept;
            ${sources.map((source) => `ip saddr ${source} udp dport 51820 counter comment "${source}"`).join("\n            ")}
        }
    }`;
}

/**
 * Who reaches the k3s ports of which host, for real: TCP connections that the host accepts (the firewalls drop or
 * reject the others), and UDP
 * datagrams counted after the host's firewall (nftables and ufw) passed them. wireguard-go owns UDP 51820 and
 * answers nothing to a stray datagram, hence the counter.
 */
export class PortProbe {
    private started = false;

    constructor(
        private readonly world: LabWorld,
        private readonly sources: readonly string[],
    ) {}

    async start(): Promise<void> {
        if (this.started) return;
        this.started = true;
        for (const kind of ["swas", "vultr", "home"] as const) {
            this.world.spawnInHost(kind, [process.execPath, "-e", LISTENER]);
            const loaded = this.world.inHost(kind, ["nft", "-f", "-"], { input: counterTable(this.sources) });
            if (loaded.status !== 0) throw new Error(`could not load the probe counters on ${kind}: ${loaded.stderr}`);
        }
        await sleep(500);
    }

    /** Which of PROBED_PORTS on `address` a probe from `from` (a host, or a lab namespace) reaches. */
    reach(from: { host: HostKind } | { ns: string }, fromAddress: string, target: HostKind, address: string): string[] {
        const before = this.udpCount(target, fromAddress);
        const script = `
const net = require("node:net"), dgram = require("node:dgram");
const tcp = (port) => new Promise((ok) => { const s = net.connect({ host: "${address}", port, timeout: 1500 }); s.on("connect", () => { s.destroy(); ok(port + "/tcp"); }); s.on("timeout", () => { s.destroy(); ok(null); }); s.on("error", () => ok(null)); });
const udp = dgram.createSocket("udp4");
for (let i = 0; i < 3; i++) udp.send("k3smc-lab-probe", 51820, "${address}");
Promise.all([tcp(6443), tcp(10250)]).then((r) => { udp.close(); console.log(r.filter(Boolean).join(" ")); });
`;
        const argv = [process.execPath, "-e", script];
        const run = "host" in from ? this.world.inHost(from.host, argv, { timeout: 20_000 }) : this.world.inNamespace(from.ns, argv, { timeout: 20_000 });
        if (run.status !== 0) throw new Error(`the probe from ${fromAddress} failed: ${run.stderr}`);
        const reached = run.stdout.trim().split(" ").filter(Boolean);
        if (this.udpCount(target, fromAddress) > before) reached.push("51820/udp");
        return reached;
    }

    private udpCount(target: HostKind, source: string): number {
        const listed = this.world.inHost(target, ["nft", "list", "table", "inet", "k3smc_lab_probe"]).stdout;
        const line = listed.split("\n").find((l) => l.includes(`comment "${source}"`)) ?? "";
        return Number(/packets (\d+)/.exec(line)?.[1] ?? 0);
    }
}
