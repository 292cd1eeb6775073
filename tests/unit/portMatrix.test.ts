import { strict as assert } from "node:assert";
import { VULTR_MAX_PEER_RULES, clusterPortMatrix, swasRulesFor, vultrRulesFor } from "../../components/network/portMatrix";

describe("port matrix", () => {
    it("opens API, WireGuard and kubelet ports, etcd only with several servers, and never VXLAN", () => {
        const single = clusterPortMatrix(1);
        assert.deepEqual(single.map((p) => `${p.protocol}/${p.fromPort}-${p.toPort} ${p.on} from ${p.source}`), [
            "tcp/6443-6443 servers from nodes",
            "tcp/6443-6443 servers from api-clients",
            "udp/51820-51821 all from nodes",
            "tcp/10250-10250 all from nodes",
        ]);
        assert.ok(clusterPortMatrix(3).some((p) => p.fromPort === 2379 && p.toPort === 2380 && p.source === "servers"));
        assert.ok(!clusterPortMatrix(3).some((p) => p.fromPort <= 8472 && p.toPort >= 8472), "VXLAN must never be opened");
    });

    it("writes SWAS ranges with a slash, one rule per port, with exact protocol case", () => {
        assert.deepEqual(swasRulesFor("server", clusterPortMatrix(1)), [
            { key: "tcp-6443", ruleProtocol: "Tcp", port: "6443", remark: "k3s-multicloud: Kubernetes API and k3s supervisor (agents join here)" },
            { key: "udp-51820", ruleProtocol: "Udp", port: "51820/51821", remark: "k3s-multicloud: flannel wireguard-native (IPv4 51820, IPv6 51821)" },
            { key: "tcp-10250", ruleProtocol: "Tcp", port: "10250", remark: "k3s-multicloud: kubelet (metrics-server)" },
        ]);
        assert.deepEqual(swasRulesFor("agent", clusterPortMatrix(1)).map((r) => r.port), ["51820/51821", "10250"]);
    });

    it("writes Vultr ranges with a colon and restricts node ports to each peer's address", () => {
        const rules = vultrRulesFor("tokyo-1", "agent", clusterPortMatrix(1), { nodes: ["sh-server", "tokyo-1", "home-1"], servers: ["sh-server"] }, [
            { address: "0.0.0.0", prefix: 0 },
        ]);
        assert.deepEqual(rules.map((r) => [r.key, r.protocol, r.port, JSON.stringify(r.source)]), [
            ["udp-51820-sh-server", "udp", "51820:51821", '{"kind":"node","node":"sh-server"}'],
            ["udp-51820-home-1", "udp", "51820:51821", '{"kind":"node","node":"home-1"}'],
            ["tcp-10250-sh-server", "tcp", "10250", '{"kind":"node","node":"sh-server"}'],
            ["tcp-10250-home-1", "tcp", "10250", '{"kind":"node","node":"home-1"}'],
        ]);
    });

    it("on a Vultr server, limits the API to the allowed CIDRs and adds per-node API rules only when the API is not open", () => {
        const peers = { nodes: ["v-1", "a-1"], servers: ["v-1"] };
        const open = vultrRulesFor("v-1", "server", clusterPortMatrix(1), peers, [{ address: "0.0.0.0", prefix: 0 }]);
        assert.deepEqual(open.filter((r) => r.port === "6443").map((r) => [r.key, JSON.stringify(r.source)]), [
            ["tcp-6443-api-0", '{"kind":"cidr","address":"0.0.0.0","prefix":0}'],
        ]);
        const limited = vultrRulesFor("v-1", "server", clusterPortMatrix(1), peers, [{ address: "203.0.113.0", prefix: 24 }]);
        assert.deepEqual(limited.filter((r) => r.port === "6443").map((r) => [r.key, JSON.stringify(r.source)]), [
            ["tcp-6443-a-1", '{"kind":"node","node":"a-1"}'],
            ["tcp-6443-api-0", '{"kind":"cidr","address":"203.0.113.0","prefix":24}'],
        ]);
    });

    it("opens a port to the world instead of one rule per peer past the Vultr limit", () => {
        const nodes = Array.from({ length: VULTR_MAX_PEER_RULES + 2 }, (_, i) => `n-${i}`);
        const rules = vultrRulesFor("n-0", "agent", clusterPortMatrix(1), { nodes, servers: ["n-1"] }, []);
        assert.deepEqual(rules.map((r) => [r.key, r.port, JSON.stringify(r.source)]), [
            ["udp-51820-world", "51820:51821", '{"kind":"cidr","address":"0.0.0.0","prefix":0}'],
            ["tcp-10250-world", "10250", '{"kind":"cidr","address":"0.0.0.0","prefix":0}'],
        ]);
    });
});
