import { strict as assert } from "node:assert";
import { meshPeersFlag, meshStatusOf } from "../../components/mesh/meshCheck";

describe("mesh check: what the program tells the host and reads back", () => {
    const nodes = [
        { name: "sh-server", publicIp: "47.100.1.10", privateIp: "172.17.61.146" },
        { name: "tokyo-1", publicIp: "104.156.140.173", privateIp: "104.156.140.173" },
        { name: "home-1", publicIp: "203.0.113.10", privateIp: "192.168.1.20" },
    ];

    it("tells each node its peers: public IP, and the private one where it differs", () => {
        assert.equal(meshPeersFlag("tokyo-1", nodes), "sh-server=47.100.1.10/172.17.61.146,home-1=203.0.113.10/192.168.1.20");
        assert.equal(meshPeersFlag("sh-server", nodes), "tokyo-1=104.156.140.173,home-1=203.0.113.10/192.168.1.20");
    });

    it("reads peers, warnings and readiness from the check's output, skipping the dump and log lines", () => {
        const stdout = [
            "# now 1764417600",
            "# wg",
            "(hidden)\tBWaY=\t51820\toff",
            "# ready sh-server True",
            "# peer tokyo-1 104.156.140.173:51820 20 10.42.1.0/24",
            "# peer home-1 203.0.113.10:51820 never 10.42.2.0/24,10.42.2.1/32",
            "# peer - (none) never (none)",
            "# warning sh-server has a stale WireGuard peer c3Rh (endpoint (none), no allowed IPs), left by a node whose key changed; removing a node prunes such peers.",
            "k3s-multicloud [sh-server] the WireGuard mesh formed: 2 peers with a handshake within 180s",
        ].join("\n");
        assert.deepEqual(meshStatusOf("sh-server", stdout), {
            node: "sh-server",
            peers: [
                { node: "tokyo-1", endpoint: "104.156.140.173:51820", allowedIps: ["10.42.1.0/24"], handshakeAgeSeconds: 20 },
                { node: "home-1", endpoint: "203.0.113.10:51820", allowedIps: ["10.42.2.0/24", "10.42.2.1/32"] },
                { endpoint: "(none)", allowedIps: [] },
            ],
            problems: [],
            warnings: [
                "sh-server has a stale WireGuard peer c3Rh (endpoint (none), no allowed IPs), left by a node whose key changed; removing a node prunes such peers.",
            ],
            ready: { "sh-server": "True" },
        });
    });

    it("never throws on missing or odd output (ordinary mocks give none)", () => {
        const empty = { node: "n", peers: [], problems: [], warnings: [] };
        assert.deepEqual(meshStatusOf("n", undefined), empty);
        assert.deepEqual(meshStatusOf("n", ""), empty);
        assert.deepEqual(meshStatusOf("n", "# peer\n# peer only-a-name\n# ready\ngarbage\t\n"), empty);
    });
});
