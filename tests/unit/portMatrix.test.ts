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
            { key: "tcp-6443", ruleProtocol: "Tcp", port: "6443/6443", remark: "k3s-multicloud: Kubernetes API and k3s supervisor (agents join here)" },
            { key: "udp-51820", ruleProtocol: "Udp", port: "51820/51821", remark: "k3s-multicloud: flannel wireguard-native (IPv4 51820, IPv6 51821)" },
            { key: "tcp-10250", ruleProtocol: "Tcp", port: "10250/10250", remark: "k3s-multicloud: kubelet (metrics-server)" },
        ]);
        assert.deepEqual(swasRulesFor("agent", clusterPortMatrix(1)).map((r) => r.port), ["51820/51821", "10250/10250"]);
    });

    it("writes Vultr ranges with a colon and restricts node ports to each peer's address", () => {
        const { rules } = vultrRulesFor("tokyo-1", "agent", clusterPortMatrix(1), { nodes: ["sh-server", "tokyo-1", "home-1"], servers: ["sh-server"] }, [
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
        const open = vultrRulesFor("v-1", "server", clusterPortMatrix(1), peers, [{ address: "0.0.0.0", prefix: 0 }]).rules;
        assert.deepEqual(open.filter((r) => r.port === "6443").map((r) => [r.key, JSON.stringify(r.source)]), [
            ["tcp-6443-api-0", '{"kind":"cidr","address":"0.0.0.0","prefix":0}'],
        ]);
        const limited = vultrRulesFor("v-1", "server", clusterPortMatrix(1), peers, [{ address: "203.0.113.0", prefix: 24 }]).rules;
        assert.deepEqual(limited.filter((r) => r.port === "6443").map((r) => [r.key, JSON.stringify(r.source)]), [
            ["tcp-6443-a-1", '{"kind":"node","node":"a-1"}'],
            ["tcp-6443-api-0", '{"kind":"cidr","address":"203.0.113.0","prefix":24}'],
        ]);
    });

    it("opens a port to the world instead of one rule per peer past the Vultr limit", () => {
        const nodes = Array.from({ length: VULTR_MAX_PEER_RULES + 2 }, (_, i) => `n-${i}`);
        const { rules } = vultrRulesFor("n-0", "agent", clusterPortMatrix(1), { nodes, servers: ["n-1"] }, []);
        assert.deepEqual(rules.map((r) => [r.key, r.port, JSON.stringify(r.source)]), [
            ["udp-51820-world", "51820:51821", '{"kind":"cidr","address":"0.0.0.0","prefix":0}'],
            ["tcp-10250-world", "10250", '{"kind":"cidr","address":"0.0.0.0","prefix":0}'],
        ]);
    });

    it("with k3s' embedded registry (Spegel) on, 5001/tcp between all nodes", () => {
        assert.deepEqual(
            clusterPortMatrix(1, { embeddedRegistry: true }).map((p) => `${p.protocol}/${p.fromPort}-${p.toPort} on ${p.on} from ${p.source}`).slice(-1),
            ["tcp/5001-5001 on all from nodes"],
        );
        assert.equal(clusterPortMatrix(1).some((p) => p.fromPort === 5001), false);
    });

    describe("a Vultr server's whole firewall group within its rule limit (SSH, API clients, per-peer rules)", () => {
        const server = (peers: number, apiCidrs: number, servers = 1) => {
            const nodes = ["v-0", ...Array.from({ length: peers }, (_, i) => `p-${i + 1}`)];
            const api = Array.from({ length: apiCidrs }, (_, i) => ({ address: `198.51.100.${i * 8}`, prefix: 29 }));
            return vultrRulesFor("v-0", "server", clusterPortMatrix(servers), { nodes, servers: nodes.slice(0, servers) }, api, { reserved: 1, limit: 50 });
        };
        const shape = (plan: ReturnType<typeof server>) => [plan.total, plan.widened.join(" ")];

        it("16 peers and a restricted API fit exactly (1 SSH + 48 per-peer + 1 API = 50): nothing opens to anywhere", () => {
            assert.deepEqual(shape(server(16, 1)), [50, ""]);
        });

        it("17 peers would need 53 (0.3.0 created them all, more than Vultr holds): WireGuard opens to anywhere instead, 37", () => {
            assert.deepEqual(shape(server(17, 1)), [37, "51820:51821/udp"]);
            assert.deepEqual(server(17, 1).rules.filter((r) => r.port === "6443").length, 18, "the API stays per peer (17) plus the API CIDR");
        });

        it("at 20 peers 62 would be needed: 43 with WireGuard to anywhere; at 24 the kubelet follows (28)", () => {
            assert.deepEqual(shape(server(20, 1)), [43, "51820:51821/udp"]);
            assert.deepEqual(shape(server(24, 1)), [28, "51820:51821/udp 10250/tcp"]);
        });

        it("past 20 peers WireGuard and the kubelet open to anywhere as before (0.3.0's rules unchanged), but the API never does", () => {
            const plan = server(30, 1);
            assert.deepEqual(shape(plan), [34, "51820:51821/udp 10250/tcp"]);
            assert.equal(plan.rules.filter((r) => r.port === "6443" && r.source.kind === "node").length, 30);
            assert.equal(plan.rules.some((r) => r.port === "6443" && r.source.kind === "cidr" && r.source.prefix === 0), false);
        });

        it("49 peers with a restricted API cannot fit: the plan says how many (the cluster refuses it, below)", () => {
            assert.deepEqual(shape(server(49, 1)), [53, "51820:51821/udp 10250/tcp"]);
        });

        it("with etcd (three servers) each other server adds a rule that never widens", () => {
            const plan = server(16, 1, 3);
            assert.equal(plan.rules.filter((r) => r.port === "2379:2380").length, 2);
            assert.deepEqual(shape(plan), [37, "51820:51821/udp"]);
        });
    });
});
