import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { toolkitCall } from "../../components/toolkit/contract";
import { ScriptSandbox } from "../harness/scriptSandbox";

/**
 * The host firewall loaded for real: nftables in a network namespace standing for a node, reached from a cluster
 * member's namespace and a stranger's, each over its own veth pair. Listeners on the node answer on the k3s ports and
 * on one other port; the probes show who gets through. Addresses are documentation ranges, inside the namespaces
 * this test makes (and removes); every process it starts is stopped by its PID.
 */
const run = `${process.pid}-${Math.random().toString(16).slice(2, 6)}`;
const NODE_TO_MEMBER = "198.51.100.1";
const MEMBER = "198.51.100.2";
const NODE_TO_STRANGER = "203.0.113.1";
const STRANGER = "203.0.113.2";

const nodeHasNft = spawnSync("nft", ["--version"]).status === 0;

function ip(...args: string[]): void {
    execFileSync("ip", args);
}

/** Listens on the node: TCP 6443, 10250, 2380 and 2222 (not a k3s port), UDP 51820 (echo). */
const LISTENER = `
const net = require("node:net"), dgram = require("node:dgram");
for (const port of [6443, 10250, 2380, 2222]) net.createServer((s) => s.end("hi")).listen(port, "0.0.0.0");
const udp = dgram.createSocket("udp4"); udp.on("message", (m, r) => udp.send(m, r.port, r.address)); udp.bind(51820, "0.0.0.0");
setTimeout(() => process.exit(0), 120000);
`;

/** From a namespace: which of the node's ports answer within a second. */
function reachable(ns: string, address: string): string[] {
    const probe = `
const net = require("node:net"), dgram = require("node:dgram");
const tcp = (port) => new Promise((ok) => { const s = net.connect({ host: "${address}", port, timeout: 1000 }); s.on("data", () => { s.destroy(); ok(port + "/tcp"); }); s.on("timeout", () => { s.destroy(); ok(null); }); s.on("error", () => ok(null)); });
const udp = (port) => new Promise((ok) => { const c = dgram.createSocket("udp4"); const t = setTimeout(() => { c.close(); ok(null); }, 1000); c.on("message", () => { clearTimeout(t); c.close(); ok(port + "/udp"); }); c.send("x", port, "${address}"); });
Promise.all([tcp(6443), tcp(10250), tcp(2380), tcp(2222), udp(51820)]).then((r) => console.log(r.filter(Boolean).join(" ")));
`;
    return execFileSync("ip", ["netns", "exec", ns, process.execPath, "-e", probe], { encoding: "utf8", timeout: 20_000 }).trim().split(" ").filter(Boolean);
}

/** Namespaces for one suite: a node wired to a member and to a stranger by veth pairs, and the node's listener. */
interface Lab {
    readonly node: string;
    readonly member: string;
    readonly stranger: string;
    listener?: ChildProcess;
}

function buildLab(short: string): Lab {
    const lab: Lab = { node: `k3smc-${short}-node-${run}`, member: `k3smc-${short}-mem-${run}`, stranger: `k3smc-${short}-str-${run}` };
    // Interface names have at most 15 characters.
    const [toMember, toStranger] = [`${short}m${process.pid}`, `${short}s${process.pid}`];
    for (const ns of [lab.node, lab.member, lab.stranger]) ip("netns", "add", ns);
    ip("link", "add", toMember, "netns", lab.node, "type", "veth", "peer", "name", "eth0", "netns", lab.member);
    ip("link", "add", toStranger, "netns", lab.node, "type", "veth", "peer", "name", "eth0", "netns", lab.stranger);
    ip("-n", lab.node, "addr", "add", `${NODE_TO_MEMBER}/30`, "dev", toMember);
    ip("-n", lab.node, "addr", "add", `${NODE_TO_STRANGER}/30`, "dev", toStranger);
    ip("-n", lab.member, "addr", "add", `${MEMBER}/30`, "dev", "eth0");
    ip("-n", lab.stranger, "addr", "add", `${STRANGER}/30`, "dev", "eth0");
    for (const [ns, devs] of [[lab.node, ["lo", toMember, toStranger]], [lab.member, ["lo", "eth0"]], [lab.stranger, ["lo", "eth0"]]] as const) {
        for (const dev of devs) ip("-n", ns, "link", "set", dev, "up");
    }
    lab.listener = spawn("ip", ["netns", "exec", lab.node, process.execPath, "-e", LISTENER], { stdio: "ignore" });
    execFileSync("sleep", ["0.5"]);
    return lab;
}

/** Stops the listener by its PID and removes the namespaces (and with them their nftables and iptables rules). */
function removeLab(lab: Lab | undefined): void {
    if (!lab) return;
    if (lab.listener?.pid && lab.listener.exitCode === null) lab.listener.kill("SIGTERM");
    for (const ns of [lab.node, lab.member, lab.stranger]) spawnSync("ip", ["netns", "delete", ns]);
}

describe("host firewall (real nftables in network namespaces: a node, a member, a stranger)", function () {
    this.timeout(120_000);
    let box: ScriptSandbox;
    let lab: Lab | undefined;
    let NS: Lab;

    before(function () {
        if (!nodeHasNft) this.skip(); // .ci/run installs nftables
        lab = NS = buildLab("fw");
    });
    after(() => removeLab(lab));
    beforeEach(() => (box = new ScriptSandbox()));
    afterEach(() => box?.cleanup());

    const firewall = (apiAllowed: string) =>
        toolkitCall(
            "firewall",
            {
                "node-name": "node",
                role: "server",
                members: `node=203.0.113.1/${NODE_TO_MEMBER},member=${MEMBER}`,
                servers: "node",
                "api-allowed": apiAllowed,
                "cluster-cidrs": "10.42.0.0/16,10.43.0.0/16",
            },
            false,
        );

    it("before it, everyone reaches every port (the node's own state)", () => {
        assert.deepEqual(reachable(NS.stranger, NODE_TO_STRANGER), ["6443/tcp", "10250/tcp", "2380/tcp", "2222/tcp", "51820/udp"]);
    });

    it("opens the k3s ports to members only, leaves other ports alone, and keeps the table across runs", () => {
        const applied = box.run(firewall(""), { netns: NS.node });
        assert.equal(applied.status, 0, applied.stderr);
        assert.equal(
            applied.stdout,
            "k3s-multicloud [node] nftables: k3s ports open to 3 member addresses; everyone else dropped\nk3s-multicloud [node] ufw is not active: nothing to open there\n",
        );
        assert.deepEqual(reachable(NS.member, NODE_TO_MEMBER), ["6443/tcp", "10250/tcp", "2222/tcp", "51820/udp"], "etcd stays closed to a non-server member");
        assert.deepEqual(reachable(NS.stranger, NODE_TO_STRANGER), ["2222/tcp"]);
        // Loaded at boot too, before k3s, from the file it wrote.
        assert.match(box.read("etc/systemd/system/multicloud-k3s-firewall.service"), /^ExecStart=\/usr\/sbin\/nft -f \/etc\/k3s-multicloud\/firewall\.nft$/m);
        assert.deepEqual(box.calls(), ["systemctl daemon-reload", "systemctl enable multicloud-k3s-firewall.service"]);
        // Run again: the table is replaced, not doubled.
        assert.equal(box.run(firewall(""), { netns: NS.node }).status, 0);
        const tables = execFileSync("ip", ["netns", "exec", NS.node, "nft", "list", "tables"], { encoding: "utf8" });
        assert.equal(tables, "table inet k3s_multicloud\n");
    });

    it("with k3s' embedded registry on, its port 5001 is for members only too (--member-ports)", async () => {
        const registry = spawn("ip", ["netns", "exec", NS.node, process.execPath, "-e", 'require("node:net").createServer((s) => s.end("hi")).listen(5001, "0.0.0.0"); setTimeout(() => process.exit(0), 60000);'], { stdio: "ignore" });
        try {
            await new Promise((done) => setTimeout(done, 500));
            const reaches5001 = (ns: string, address: string) =>
                execFileSync("ip", ["netns", "exec", ns, process.execPath, "-e", `const s = require("node:net").connect({ host: "${address}", port: 5001, timeout: 1000 }); s.on("data", () => { console.log("yes"); s.destroy(); }); s.on("timeout", () => { console.log("no"); s.destroy(); }); s.on("error", () => console.log("no"));`], { encoding: "utf8" }).trim();
            const call = toolkitCall(
                "firewall",
                { "node-name": "node", role: "agent", members: `node=${NODE_TO_MEMBER},member=${MEMBER}`, servers: "member", "api-allowed": "", "cluster-cidrs": "10.42.0.0/16,10.43.0.0/16", "member-ports": "5001" },
                false,
            );
            assert.equal(box.run(call, { netns: NS.node }).status, 0);
            assert.deepEqual([reaches5001(NS.member, NODE_TO_MEMBER), reaches5001(NS.stranger, NODE_TO_STRANGER)], ["yes", "no"]);
        } finally {
            registry.kill("SIGTERM");
        }
    });

    it("opens 6443 to the API CIDRs too, and a member that left loses access", () => {
        assert.equal(box.run(firewall(`${STRANGER}/32`), { netns: NS.node }).status, 0);
        assert.deepEqual(reachable(NS.stranger, NODE_TO_STRANGER), ["6443/tcp", "2222/tcp"]);
        const without = firewall("").replace(`,member=${MEMBER}`, "");
        assert.equal(box.run(without, { netns: NS.node }).status, 0);
        assert.deepEqual(reachable(NS.member, NODE_TO_MEMBER), ["2222/tcp"]);
    });

    it("opens the same ports in ufw where ufw is active", () => {
        box.addStandin("ufw", 'echo "ufw $*" >>"$K3SMC_ROOT/calls.log"; [ "$1" = status ] && echo "Status: active"; exit 0');
        const applied = box.run(firewall(""), { netns: NS.node });
        assert.equal(applied.status, 0, applied.stderr);
        assert.deepEqual(box.calls().filter((c) => c.startsWith("ufw")), [
            "ufw status",
            "ufw allow 6443/tcp comment k3s-multicloud",
            "ufw allow 10250/tcp comment k3s-multicloud",
            "ufw allow 51820:51821/udp comment k3s-multicloud",
            "ufw allow 2379:2380/tcp comment k3s-multicloud",
            "ufw allow from 10.42.0.0/16 comment k3s-multicloud",
            "ufw allow from 10.43.0.0/16 comment k3s-multicloud",
        ]);
        assert.match(applied.stdout, /ufw is active: allowed 6443\/tcp 10250\/tcp 51820:51821\/udp 2379:2380\/tcp and traffic from 10\.42\.0\.0\/16,10\.43\.0\.0\/16/);
    });
});

/**
 * The ufw layer for real: a node whose ufw is enabled with default deny, as Vultr images ship it. ufw runs inside the
 * node's network namespace with a private copy of /etc/ufw (a mount namespace), so this machine's own ufw and
 * iptables are never touched.
 */
describe("host firewall over a real ufw (enabled, default deny) in the node's namespace", function () {
    this.timeout(120_000);
    const hasUfw = spawnSync("ufw", ["--version"]).status === 0;
    let ns: Lab;
    let lab: Lab | undefined;
    let box: ScriptSandbox;
    let ufwDir: string;

    before(function () {
        if (!nodeHasNft || !hasUfw) this.skip(); // .ci/run installs nftables and ufw
        lab = ns = buildLab("ufw");
        box = new ScriptSandbox();
        ufwDir = box.plant("ufw/.keep", "").replace(/\/\.keep$/, "");
        execFileSync("cp", ["-a", "/etc/ufw/.", ufwDir]);
        const enable = box.run(`mount --bind "${ufwDir}" /etc/ufw && ufw default deny incoming >/dev/null && ufw --force enable`, { netns: ns.node });
        assert.equal(enable.status, 0, enable.stderr);
        execFileSync("sleep", ["0.5"]);
    });
    after(() => {
        removeLab(lab);
        box?.cleanup();
    });

    it("without our step, ufw drops k3s' ports even from a member: the agent could not join", () => {
        assert.deepEqual(reachable(ns.member, NODE_TO_MEMBER), []);
    });

    it("our step opens them in ufw for members only; strangers stay out, and other ports keep ufw's deny", () => {
        box.clearCalls();
        const call = toolkitCall(
            "firewall",
            { "node-name": "node", role: "agent", members: `node=203.0.113.1/${NODE_TO_MEMBER},member=${MEMBER}`, servers: "member", "api-allowed": "", "cluster-cidrs": "10.42.0.0/16,10.43.0.0/16" },
            false,
        );
        const applied = box.run(`mount --bind "${ufwDir}" /etc/ufw && ${call}`, { netns: ns.node });
        assert.equal(applied.status, 0, applied.stderr);
        assert.match(applied.stdout, /ufw is active: allowed 6443\/tcp 10250\/tcp 51820:51821\/udp and traffic from 10\.42\.0\.0\/16,10\.43\.0\.0\/16/);
        assert.deepEqual(reachable(ns.member, NODE_TO_MEMBER), ["6443/tcp", "10250/tcp", "51820/udp"]);
        assert.deepEqual(reachable(ns.stranger, NODE_TO_STRANGER), []);
        const status = box.run(`mount --bind "${ufwDir}" /etc/ufw && ufw status`, { netns: ns.node }).stdout;
        assert.match(status, /^6443\/tcp +ALLOW +Anywhere +# k3s-multicloud$/m);
        assert.doesNotMatch(readFileSync("/etc/ufw/ufw.conf", "utf8"), /^ENABLED=yes$/m, "this machine's ufw is untouched");
    });
});
