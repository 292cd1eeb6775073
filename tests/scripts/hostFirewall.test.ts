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

/** A pod: its own namespace on a veth pair whose node end (10.42.0.1) routes the pod network, as cni0 does. */
function addPod(lab: Lab): { ns: string; remove: () => void } {
    // (A veth pair: this kernel has no dummy interfaces.)
    const podDev = `pods${process.pid}`.slice(0, 15);
    const ns = `k3smc-fw-pod-${run}`;
    ip("netns", "add", ns);
    ip("-n", lab.node, "link", "add", podDev, "type", "veth", "peer", "name", "eth0", "netns", ns);
    ip("-n", lab.node, "addr", "add", "10.42.0.1/24", "dev", podDev);
    ip("-n", lab.node, "link", "set", podDev, "up");
    ip("-n", ns, "addr", "add", "10.42.0.5/24", "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    ip("-n", ns, "route", "add", "default", "via", "10.42.0.1");
    ip("-n", lab.node, "route", "add", "10.42.0.0/16", "dev", podDev);
    return { ns, remove: () => spawnSync("ip", ["netns", "delete", ns]) };
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
            "k3s-multicloud [node] nftables: k3s ports open to 3 member addresses; everyone else dropped; pods cannot reach the instance metadata service\nk3s-multicloud [node] ufw is not active: nothing to open there\n",
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

    it("gives ufw, where active, the same rules: from each member, to k3s' ports only", () => {
        box.addStandin("ufw", 'echo "ufw $*" >>"$K3SMC_ROOT/calls.log"; [ "$1" = status ] && echo "Status: active"; exit 0');
        const applied = box.run(firewall(""), { netns: NS.node });
        assert.equal(applied.status, 0, applied.stderr);
        assert.deepEqual(box.calls().filter((c) => c.startsWith("ufw")), [
            "ufw status",
            "ufw show added",
            "ufw allow from 10.42.0.0/16 to any port 6443,10250 proto tcp comment k3s-multicloud",
            "ufw allow from 10.43.0.0/16 to any port 6443,10250 proto tcp comment k3s-multicloud",
            "ufw allow from 198.51.100.1 to any port 2379:2380 proto tcp comment k3s-multicloud",
            "ufw allow from 198.51.100.1 to any port 51820:51821 proto udp comment k3s-multicloud",
            "ufw allow from 198.51.100.1 to any port 6443,10250 proto tcp comment k3s-multicloud",
            "ufw allow from 198.51.100.2 to any port 51820:51821 proto udp comment k3s-multicloud",
            "ufw allow from 198.51.100.2 to any port 6443,10250 proto tcp comment k3s-multicloud",
            "ufw allow from 203.0.113.1 to any port 2379:2380 proto tcp comment k3s-multicloud",
            "ufw allow from 203.0.113.1 to any port 51820:51821 proto udp comment k3s-multicloud",
            "ufw allow from 203.0.113.1 to any port 6443,10250 proto tcp comment k3s-multicloud",
        ]);
        assert.match(applied.stdout, /ufw is active: 10 rules of ours from the members, the API CIDRs and the pods to k3s' ports \(10 added, 0 no longer wanted deleted\)\n$/);
    });

    it("drops a pod-network source arriving on the public interface (spoofed), where 0.3.0 accepted it on k3s' ports", async () => {
        // The node routes its pod network through its own interface, as cni0 and flannel-wg do; rp_filter is loose
        // (2), as many images set it, so the kernel alone lets the spoofed packet in.
        const pod = addPod(NS);
        ip("-n", NS.stranger, "addr", "add", "10.42.5.5/32", "dev", "eth0");
        execFileSync("ip", ["netns", "exec", NS.node, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=2"]);
        // A listener on 51821 (WireGuard's second port, a k3s port our table guards) that prints what reaches it.
        const listener = spawn("ip", ["netns", "exec", NS.node, process.execPath, "-e", 'const u = require("node:dgram").createSocket("udp4"); u.on("message", (m, r) => console.log(`from ${r.address}`)); u.bind(51821, "0.0.0.0"); setTimeout(() => process.exit(0), 30000);'], { stdio: ["ignore", "pipe", "ignore"] });
        let heard = "";
        listener.stdout!.on("data", (chunk) => (heard += chunk));
        const sendSpoofed = () =>
            execFileSync("ip", ["netns", "exec", NS.stranger, process.execPath, "-e", `const c = require("node:dgram").createSocket("udp4"); c.bind(0, "10.42.5.5", () => c.send("x", 51821, "${NODE_TO_STRANGER}", () => c.close()));`]);
        try {
            await new Promise((done) => setTimeout(done, 500));
            assert.equal(box.run(firewall(""), { netns: NS.node }).status, 0);
            sendSpoofed();
            await new Promise((done) => setTimeout(done, 500));
            assert.equal(heard, "", "the spoofed packet reached the listener");
            const spoofRule = execFileSync("ip", ["netns", "exec", NS.node, "nft", "list", "chain", "inet", "k3s_multicloud", "input"], { encoding: "utf8" }).split("\n").find((l) => l.includes("spoofed"));
            assert.match(spoofRule ?? "", /counter packets 1 /);
            // A pod-network source on the interface that routes it is a pod, and reaches the kubelet and the API.
            assert.deepEqual(reachable(pod.ns, "10.42.0.1"), ["6443/tcp", "10250/tcp", "2222/tcp"]);
        } finally {
            listener.kill("SIGTERM");
            ip("-n", NS.stranger, "addr", "del", "10.42.5.5/32", "dev", "eth0");
            pod.remove();
        }
    });

    it("keeps pods from the instance metadata service (Vultr's user-data holds the host key), unless allowed", async () => {
        // The stranger's side stands for the metadata service: 169.254.169.254:80, reached through the node.
        const pod = addPod(NS);
        ip("-n", NS.stranger, "addr", "add", "169.254.169.254/32", "dev", "eth0");
        ip("-n", NS.stranger, "route", "add", "10.42.0.0/16", "via", NODE_TO_STRANGER);
        ip("-n", NS.node, "route", "add", "169.254.169.254/32", "via", STRANGER);
        execFileSync("ip", ["netns", "exec", NS.node, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        const metadata = spawn("ip", ["netns", "exec", NS.stranger, process.execPath, "-e", 'require("node:net").createServer((s) => s.end("user-data")).listen(80, "169.254.169.254"); setTimeout(() => process.exit(0), 60000);'], { stdio: "ignore" });
        const fromPod = () =>
            execFileSync("ip", ["netns", "exec", pod.ns, process.execPath, "-e", 'const s = require("node:net").connect({ host: "169.254.169.254", port: 80, timeout: 1000 }); s.on("data", (d) => { console.log(String(d)); s.destroy(); }); s.on("timeout", () => { console.log("timeout"); s.destroy(); }); s.on("error", (e) => console.log(e.code));'], { encoding: "utf8" }).trim();
        try {
            await new Promise((done) => setTimeout(done, 500));
            spawnSync("ip", ["netns", "exec", NS.node, "nft", "delete", "table", "inet", "k3s_multicloud"]); // an earlier test's
            assert.equal(fromPod(), "user-data", "before the step, a pod reads user-data");
            assert.equal(box.run(firewall(""), { netns: NS.node }).status, 0);
            assert.equal(fromPod(), "ECONNREFUSED", "rejected at once, not left to time out");
            const allowed = box.run(toolkitCall("firewall", { "node-name": "node", role: "server", members: `node=${NODE_TO_MEMBER}`, servers: "node", "api-allowed": "", "cluster-cidrs": "10.42.0.0/16,10.43.0.0/16", "pod-metadata": "allow" }, false), { netns: NS.node });
            assert.match(allowed.stdout, /everyone else dropped; pods may reach the instance metadata service\n/);
            assert.equal(fromPod(), "user-data");
        } finally {
            metadata.kill("SIGTERM");
            ip("-n", NS.stranger, "addr", "del", "169.254.169.254/32", "dev", "eth0");
            pod.remove();
        }
    });

    it("refuses a pod or service CIDR that would open k3s' ports to the world, or that its IPv4 sets cannot hold", () => {
        for (const [cidrs, bad] of [["0.0.0.0/0,10.43.0.0/16", "0.0.0.0/0"], ["10.42.0.0/16,fd00:42::/56", "fd00:42::/56"]]) {
            const call = firewall("").replace("10.42.0.0/16,10.43.0.0/16", cidrs);
            const refused = box.run(call, { netns: NS.node });
            assert.equal(refused.status, 1);
            assert.equal(refused.stderr, `k3s-multicloud [node] ERROR: --cluster-cidrs: '${bad}' is not an IPv4 pod or service CIDR from /8 to /30; the host firewall would open k3s' ports to it\n`);
        }
    });

    it("says so when firewalld runs, whose zones would drop what our table accepts", () => {
        box.addStandin("firewall-cmd", '[ "$1" = --state ] && echo running');
        const applied = box.run(firewall(""), { netns: NS.node });
        assert.equal(applied.status, 0, applied.stderr);
        assert.match(applied.stdout, /\nk3s-multicloud \[node\] WARNING: firewalld is active: its zones drop what they do not allow, whatever our table accepts\. Allow 6443\/tcp, 10250\/tcp and 51820-51821\/udp \(servers: 2379-2380\/tcp too\) from the cluster's members in firewalld, or nodes cannot join\.\n$/);
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

    const inNode = (command: string) => box.run(`mount --bind "${ufwDir}" /etc/ufw && ${command}`, { netns: ns.node });
    const agentCall = (members: string) =>
        toolkitCall(
            "firewall",
            { "node-name": "node", role: "agent", members, servers: "member", "api-allowed": "", "cluster-cidrs": "10.42.0.0/16,10.43.0.0/16" },
            false,
        );
    const ours = () => inNode("ufw show added").stdout.split("\n").filter((l) => l.endsWith("comment 'k3s-multicloud'"));

    it("our step opens them in ufw for members only; strangers stay out, and other ports keep ufw's deny", () => {
        // What 0.3.0 added: k3s' ports from anywhere (our table alone kept strangers out), and all of the pod network.
        for (const rule of ["allow 6443/tcp", "allow 10250/tcp", "allow 51820:51821/udp", "allow from 10.42.0.0/16"]) {
            assert.equal(inNode(`ufw ${rule} comment k3s-multicloud`).status, 0);
        }
        box.clearCalls();
        const applied = inNode(agentCall(`node=203.0.113.1/${NODE_TO_MEMBER},member=${MEMBER}`));
        assert.equal(applied.status, 0, applied.stderr);
        assert.match(applied.stdout, /ufw is active: 8 rules of ours from the members, the API CIDRs and the pods to k3s' ports \(8 added, 4 no longer wanted deleted\)\n$/);
        assert.deepEqual(reachable(ns.member, NODE_TO_MEMBER), ["6443/tcp", "10250/tcp", "51820/udp"]);
        assert.deepEqual(reachable(ns.stranger, NODE_TO_STRANGER), []);
        assert.deepEqual(ours(), [
            "ufw allow from 10.42.0.0/16 to any port 6443,10250 proto tcp comment 'k3s-multicloud'",
            "ufw allow from 10.43.0.0/16 to any port 6443,10250 proto tcp comment 'k3s-multicloud'",
            "ufw allow from 198.51.100.1 to any port 51820:51821 proto udp comment 'k3s-multicloud'",
            "ufw allow from 198.51.100.1 to any port 6443,10250 proto tcp comment 'k3s-multicloud'",
            "ufw allow from 198.51.100.2 to any port 51820:51821 proto udp comment 'k3s-multicloud'",
            "ufw allow from 198.51.100.2 to any port 6443,10250 proto tcp comment 'k3s-multicloud'",
            "ufw allow from 203.0.113.1 to any port 51820:51821 proto udp comment 'k3s-multicloud'",
            "ufw allow from 203.0.113.1 to any port 6443,10250 proto tcp comment 'k3s-multicloud'",
        ]);
        // A second run changes nothing in ufw.
        assert.match(inNode(agentCall(`node=203.0.113.1/${NODE_TO_MEMBER},member=${MEMBER}`)).stdout, /\(0 added, 0 no longer wanted deleted\)\n$/);
        assert.doesNotMatch(readFileSync("/etc/ufw/ufw.conf", "utf8"), /^ENABLED=yes$/m, "this machine's ufw is untouched");
    });

    it("without our nftables table (a boot where its unit failed, nft flush), ufw alone still keeps strangers out", () => {
        assert.equal(inNode("nft delete table inet k3s_multicloud").status, 0);
        assert.deepEqual(reachable(ns.stranger, NODE_TO_STRANGER), []);
        assert.deepEqual(reachable(ns.member, NODE_TO_MEMBER), ["6443/tcp", "10250/tcp", "51820/udp"]);
    });

    it("a member that left loses its ufw rules at the next run", () => {
        const applied = inNode(agentCall("node=203.0.113.1"));
        assert.equal(applied.status, 0, applied.stderr);
        assert.match(applied.stdout, /\(0 added, 4 no longer wanted deleted\)\n$/);
        assert.equal(ours().filter((rule) => rule.includes(MEMBER) || rule.includes(NODE_TO_MEMBER)).length, 0);
        assert.deepEqual(reachable(ns.member, NODE_TO_MEMBER), []);
    });
});
