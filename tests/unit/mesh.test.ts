import { strict as assert } from "node:assert";
import { checkNodeMesh, meshFailure, parseMeshReport, ExpectedNode } from "../../components/mesh/meshCheck";
import { parseWgDump, parseWgShow } from "../../components/mesh/wgDump";
import { KEY_HOME, KEY_SERVER, KEY_STALE, KEY_VULTR, NOW, WRITEUP_WG_SHOW, dump, peerLine } from "../harness/wgFixtures";

const server: ExpectedNode = { name: "sh-server", publicIp: "47.100.1.10", privateIp: "172.17.61.146" };
const vultr: ExpectedNode = { name: "tokyo-1", publicIp: "104.156.140.173", privateIp: "104.156.140.173" };
const home: ExpectedNode = { name: "home-1", publicIp: "203.0.113.10", privateIp: "192.168.1.20" };

describe("WireGuard output parsers", () => {
    it("reads the write-up's own `wg show` sample", () => {
        assert.deepEqual(parseWgShow(WRITEUP_WG_SHOW, NOW), {
            publicKey: KEY_SERVER,
            listenPort: 51820,
            peers: [{ publicKey: KEY_VULTR, endpoint: { host: "104.156.140.173", port: 51820 }, allowedIps: ["10.42.1.0/24"], latestHandshake: NOW - 120 }],
        });
    });

    it("reads `wg show dump`, with (none) endpoints and allowed ips and never-handshaken peers", () => {
        const parsed = parseWgDump(dump([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", NOW - 30), peerLine(KEY_STALE, "(none)", "(none)", 0)]));
        assert.deepEqual(parsed, {
            publicKey: KEY_SERVER,
            listenPort: 51820,
            peers: [
                { publicKey: KEY_VULTR, endpoint: { host: "104.156.140.173", port: 51820 }, allowedIps: ["10.42.1.0/24"], latestHandshake: NOW - 30 },
                { publicKey: KEY_STALE, endpoint: null, allowedIps: [], latestHandshake: 0 },
            ],
        });
    });
});

describe("mesh comparison", () => {
    const report = (peers: string[], ready?: Record<string, string>) =>
        parseMeshReport(`# now ${NOW}\n# wg\n${dump(peers)}${Object.entries(ready ?? {}).map(([n, s]) => `# ready ${n} ${s}\n`).join("")}`);

    it("accepts the write-up's formed tunnel: the agent at its public IP with a handshake 2 minutes ago", () => {
        const status = checkNodeMesh(server, [vultr], { now: NOW, wg: parseWgShow(WRITEUP_WG_SHOW, NOW) });
        assert.deepEqual(status, {
            node: "sh-server",
            peers: [{ node: "tokyo-1", endpoint: "104.156.140.173:51820", allowedIps: ["10.42.1.0/24"], handshakeAgeSeconds: 120 }],
            problems: [],
            warnings: [],
        });
    });

    it("names a node reached at its private address: node-external-ip did not apply", () => {
        const status = checkNodeMesh(vultr, [server], report([peerLine(KEY_SERVER, "172.17.61.146:51820", "10.42.0.0/24", NOW - 10)]));
        assert.deepEqual(status.problems, [
            "tokyo-1 reaches sh-server at its private address 172.17.61.146:51820 instead of 47.100.1.10:51820: node-external-ip did not apply on sh-server, so flannel there advertises its NIC address, which nothing outside its network can reach.",
        ]);
    });

    it("names a peer that never completed a handshake, and a stale (none) peer", () => {
        const status = checkNodeMesh(server, [vultr, home], report([
            peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", NOW - 15),
            peerLine(KEY_HOME, "203.0.113.10:51820", "10.42.2.0/24", 0),
            peerLine(KEY_STALE, "(none)", "(none)", 0),
        ]));
        assert.deepEqual(status.problems, [
            "sh-server has never completed a WireGuard handshake with home-1 at 203.0.113.10:51820: UDP 51820 is blocked between them (a firewall) or home-1 is down.",
        ]);
        assert.deepEqual(status.warnings, [
            `sh-server has a stale WireGuard peer ${KEY_STALE} (endpoint (none), no allowed IPs), left by a node whose key changed; removing a node prunes such peers.`,
        ]);
        assert.deepEqual(status.peers.map((p) => [p.node, p.handshakeAgeSeconds]), [["tokyo-1", 15], ["home-1", null], [null, null]]);
    });

    it("names a missing peer, an old handshake and a node that is not Ready", () => {
        const status = checkNodeMesh(server, [vultr, home], report([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", NOW - 600)], { "sh-server": "True", "tokyo-1": "True", "home-1": "False" }));
        assert.deepEqual(status.problems, [
            "sh-server's latest WireGuard handshake with tokyo-1 at 104.156.140.173:51820 was 600 s ago (more than 180 s): the tunnel is not alive.",
            "sh-server has no WireGuard peer for home-1 (expected endpoint 203.0.113.10:51820): home-1 has not joined, or flannel has not seen it yet.",
            "home-1 is not Ready (Ready=False) as the server sees it.",
        ]);
    });

    it("explains a missing interface, and joins every problem into one error", () => {
        const status = checkNodeMesh(vultr, [server], parseMeshReport(`# now ${NOW}\n# wg-error Unable to access interface: No such device\n`));
        assert.deepEqual(status.problems, [
            "tokyo-1: flannel's WireGuard interface flannel-wg is missing (Unable to access interface: No such device): k3s is down on this node or flannel is not using the wireguard-native backend.",
        ]);
        assert.equal(
            meshFailure([status, { node: "x", peers: [], problems: [], warnings: [] }]),
            "the WireGuard mesh did not form:\n  - tokyo-1: flannel's WireGuard interface flannel-wg is missing (Unable to access interface: No such device): k3s is down on this node or flannel is not using the wireguard-native backend.",
        );
        assert.equal(meshFailure([]), undefined);
    });
});
