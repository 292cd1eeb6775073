import { strict as assert } from "node:assert";
import { toolkitCall } from "../../components/toolkit/contract";
import { ExpectedNode, meshPeersFlag, meshStatusOf } from "../../components/mesh/meshCheck";
import { ScriptSandbox } from "../harness/scriptSandbox";
import { KEY_HOME, KEY_SERVER, KEY_STALE, KEY_VULTR, PRIVATE_KEY_OF_DUMP, dump, peerLine } from "../harness/wgFixtures";

const server: ExpectedNode = { name: "sh-server", publicIp: "47.100.1.10", privateIp: "172.17.61.146" };
const vultr: ExpectedNode = { name: "tokyo-1", publicIp: "104.156.140.173", privateIp: "104.156.140.173" };
const home: ExpectedNode = { name: "home-1", publicIp: "203.0.113.10", privateIp: "192.168.1.20" };
const CLUSTER = [server, vultr, home];

function meshCommand(self: ExpectedNode, role: "server" | "agent", nodes: ExpectedNode[], timeout = 0): string {
    return toolkitCall("mesh-check", { "node-name": self.name, role, peers: meshPeersFlag(self.name, nodes), "mesh-timeout": timeout }, false);
}

describe("mesh-check verb: the verdict on the host (real bash and awk, stand-ins for wg and k3s)", () => {
    let box: ScriptSandbox;
    const now = () => Math.floor(Date.now() / 1000);
    beforeEach(() => {
        box = new ScriptSandbox();
        // The stand-in `wg` prints the planted dump, or fails like a missing interface.
        box.addStandin(
            "wg",
            'echo "wg $*" >>"$K3SMC_ROOT/calls.log"; if [ -f "$K3SMC_ROOT/wg-dump" ]; then cat "$K3SMC_ROOT/wg-dump"; else echo "Unable to access interface: No such device" >&2; exit 1; fi',
        );
    });
    afterEach(() => box.cleanup());
    const errorOf = (node: string, problems: string[]) => `k3s-multicloud [${node}] ERROR: the WireGuard mesh did not form:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`;

    it("passes the write-up's formed tunnel: the agent at its public IP, handshake 2 minutes ago", () => {
        box.plant("wg-dump", dump([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", now() - 120)]));
        const run = box.run(meshCommand(server, "agent", [server, vultr]));
        assert.equal(run.status, 0, run.stderr);
        assert.ok(!run.stdout.includes(PRIVATE_KEY_OF_DUMP), "the private key must never be printed");
        assert.match(run.stdout.split("\n")[2], /^\(hidden\)\t/);
        const status = meshStatusOf("sh-server", run.stdout);
        assert.equal(status.peers.length, 1);
        const [peer] = status.peers;
        assert.deepEqual([peer.node, peer.endpoint, peer.allowedIps], ["tokyo-1", "104.156.140.173:51820", ["10.42.1.0/24"]]);
        assert.ok(peer.handshakeAgeSeconds! >= 120 && peer.handshakeAgeSeconds! <= 125, String(peer.handshakeAgeSeconds));
        assert.deepEqual([status.problems, status.warnings], [[], []]);
        assert.match(run.stdout, /k3s-multicloud \[sh-server\] the WireGuard mesh formed: 1 peers with a handshake within 180s\n$/);
    });

    it("fails, naming a node reached at its private address: node-external-ip did not apply there", () => {
        box.plant("wg-dump", dump([peerLine(KEY_SERVER, "172.17.61.146:51820", "10.42.0.0/24", now() - 10), peerLine(KEY_HOME, "203.0.113.10:51820", "10.42.2.0/24", now() - 10)]));
        const run = box.run(meshCommand(vultr, "agent", CLUSTER));
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            errorOf("tokyo-1", [
                "tokyo-1 reaches sh-server at its private address 172.17.61.146:51820 instead of 47.100.1.10:51820: node-external-ip did not apply on sh-server, so flannel there advertises its NIC address, which nothing outside its network can reach.",
            ]),
        );
    });

    it("fails on a peer that never completed a handshake, and warns of a stale (none) peer", () => {
        box.plant(
            "wg-dump",
            dump([
                peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", now() - 15),
                peerLine(KEY_HOME, "203.0.113.10:51820", "10.42.2.0/24", 0),
                peerLine(KEY_STALE, "(none)", "(none)", 0),
            ]),
        );
        const run = box.run(meshCommand(server, "agent", CLUSTER));
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            errorOf("sh-server", ["sh-server has never completed a WireGuard handshake with home-1 at 203.0.113.10:51820: UDP 51820 is blocked between them (a firewall) or home-1 is down."]),
        );
        const status = meshStatusOf("sh-server", run.stdout);
        assert.deepEqual(status.warnings, [
            `sh-server has a stale WireGuard peer ${KEY_STALE} (endpoint (none), no allowed IPs), left by a node whose key changed; removing a node prunes such peers.`,
        ]);
        assert.deepEqual(status.peers.map((p) => [p.node, p.handshakeAgeSeconds === undefined ? "never" : "some"]), [["tokyo-1", "some"], ["home-1", "never"], [undefined, "never"]]);
    });

    it("is not fooled by a rebooted peer's old key: same endpoint, recent handshake, but it routes nothing", () => {
        // What the namespace lab sees after a node reboots behind a blocked path: flannel moved the node's subnet to
        // its new key (no handshake yet) and the old key's peer kept the endpoint and its last handshake.
        box.plant(
            "wg-dump",
            dump([peerLine(KEY_STALE, "104.156.140.173:51820", "(none)", now() - 20), peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", 0)]),
        );
        const run = box.run(meshCommand(server, "agent", [server, vultr]));
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            errorOf("sh-server", ["sh-server has never completed a WireGuard handshake with tokyo-1 at 104.156.140.173:51820: UDP 51820 is blocked between them (a firewall) or tokyo-1 is down."]),
        );
        assert.deepEqual(meshStatusOf("sh-server", run.stdout).warnings, [
            `sh-server has a stale WireGuard peer ${KEY_STALE} (endpoint 104.156.140.173:51820, no allowed IPs), left by a node whose key changed; removing a node prunes such peers.`,
        ]);
    });

    it("fails on a missing peer, an old handshake and, on the server, a node that is not Ready", () => {
        box.plant("wg-dump", dump([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", now() - 600)]));
        box.plant("usr/local/bin/k3s", '#!/usr/bin/env bash\nprintf "sh-server True\\ntokyo-1 True\\nhome-1 False\\nother-cluster-node False\\n"\n');
        box.run('chmod +x "$K3SMC_ROOT/usr/local/bin/k3s"');
        const run = box.run(meshCommand(server, "server", CLUSTER));
        assert.equal(run.status, 1);
        const age = /was ([0-9]+) s ago/.exec(run.stderr)?.[1];
        assert.ok(Number(age) >= 600 && Number(age) <= 605, run.stderr);
        assert.equal(
            run.stderr,
            errorOf("sh-server", [
                `sh-server's latest WireGuard handshake with tokyo-1 at 104.156.140.173:51820 was ${age} s ago (more than 180 s): the tunnel is not alive.`,
                "sh-server has no WireGuard peer for home-1 (expected endpoint 203.0.113.10:51820): home-1 has not joined, or flannel has not seen it yet.",
                "home-1 is not Ready (Ready=False) as the server sees it.",
            ]),
        );
        assert.deepEqual(meshStatusOf("sh-server", run.stdout).ready, { "sh-server": "True", "tokyo-1": "True", "home-1": "False", "other-cluster-node": "False" });
    });

    it("fails on a missing interface, in words", () => {
        const run = box.run(meshCommand(vultr, "agent", [server, vultr]));
        assert.equal(run.status, 1);
        assert.match(run.stdout, /^# now [0-9]+\n# wg-error Unable to access interface: No such device\n/);
        assert.equal(
            run.stderr,
            errorOf("tokyo-1", ["tokyo-1: flannel's WireGuard interface flannel-wg is missing (Unable to access interface: No such device): k3s is down on this node or flannel is not using the wireguard-native backend."]),
        );
    });

    it("waits for handshakes until the timeout, then judges what it has", () => {
        box.plant("wg-dump", dump([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", 0)]));
        const started = Date.now();
        const run = box.run(meshCommand(server, "agent", [server, vultr], 2));
        assert.equal(run.status, 1);
        assert.ok(Date.now() - started >= 1000, "it waited for a handshake (2 s deadline, counted in whole seconds)");
        assert.ok(box.calls().filter((c) => c === "wg show flannel-wg dump").length > 2, "it read the interface more than once");
    });

    it("stops waiting as soon as every peer has a live handshake", () => {
        box.plant("wg-dump", dump([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", now() - 5)]));
        const started = Date.now();
        const run = box.run(meshCommand(server, "agent", [server, vultr], 30));
        assert.equal(run.status, 0, run.stderr);
        assert.ok(Date.now() - started < 10_000);
    });
});
