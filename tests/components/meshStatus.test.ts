import { strict as assert } from "node:assert";
import { MockCloud, resolve } from "../harness/mockCloud";
import { K3sCluster } from "../../components";
import { buildCluster, buildClusterHosts, clusterCloudFixture } from "../harness/clusterFixture";
import { NOW } from "../harness/wgFixtures";
import { TYPES } from "../harness/fixtures";
import { listDigest } from "../../components/k3s/digest";

const report = (...peers: string[]) => `# now ${NOW}\n# wg\n(hidden)\tBWaY=\t51820\toff\n${peers.map((p) => `# peer ${p}\n`).join("")}`;

function fixtureWith(stdout: Record<string, string>) {
    const base = clusterCloudFixture();
    const outputs = { ...base.outputs };
    for (const [node, text] of Object.entries(stdout)) outputs[`dev-${node}-mesh-check`] = { stdout: text };
    return { ...base, outputs };
}

describe("mesh check in K3sCluster (mocks)", () => {
    it("checks every node after all installs, restarts and firewall rules, telling it its peers' addresses", async () => {
        const cloud = await MockCloud.install({
            fixture: fixtureWith({
                "sh-server": report("tokyo-1 104.156.140.173:51820 20 10.42.1.0/24", "home-1 203.0.113.10:51820 21 10.42.2.0/24"),
                "tokyo-1": report("sh-server 47.100.1.10:51820 20 10.42.0.0/24", "home-1 203.0.113.10:51820 22 10.42.2.0/24"),
                "home-1": report("sh-server 47.100.1.10:51820 20 10.42.0.0/24", "tokyo-1 104.156.140.173:51820 23 10.42.1.0/24"),
            }),
        });
        const { cluster } = buildCluster();
        const status = await resolve(cluster.meshStatus);
        await cloud.settle();
        const check = cloud.named("dev-tokyo-1-mesh-check");
        // Through one local no-op (no SSH): every check depends on it alone, it on everything the check needs.
        const ready = cloud.named("dev-mesh-ready");
        assert.deepEqual([ready.type, ready.inputs.create], ["command:local:Command", "true"]);
        // (and, through the addresses in its command and trigger and its pinned connection, the cloud instances and
        // their host-key checks)
        assert.deepEqual(check.dependencies.filter((d) => !d.endsWith("-instance") && !d.endsWith("-host-key-check")), [ready.urn]);
        for (const dep of ["dev-sh-server-upgrade", "dev-home-1-upgrade", "dev-tokyo-1-upgrade", "dev-tokyo-1-prune", "dev-home-1-metadata-restart", "dev-sh-server-fw-udp-51820", "dev-tokyo-1-fw-udp-51820-home-1"]) {
            assert.ok(ready.dependencies.includes(cloud.named(dep).urn), `mesh check waits for ${dep}`);
        }
        // The trigger is a digest of every node's name and addresses: any change re-runs the check, and the stored
        // state per node does not grow with the cluster.
        assert.deepEqual(check.inputs.triggers, [
            listDigest(["sh-server=47.100.1.10/172.17.61.146", "tokyo-1=104.156.140.173/104.156.140.173", "home-1=203.0.113.10/192.168.1.20"]),
        ]);
        assert.equal(
            check.inputs.create,
            "/opt/k3s-multicloud/bin/k3smc v1 mesh-check --node-name tokyo-1 --role agent --peers sh-server=47.100.1.10/172.17.61.146,home-1=203.0.113.10/192.168.1.20 --mesh-timeout 180",
        );
        assert.equal(
            cloud.named("dev-sh-server-mesh-check").inputs.create,
            "/opt/k3s-multicloud/bin/k3smc v1 mesh-check --node-name sh-server --role server --peers tokyo-1=104.156.140.173,home-1=203.0.113.10/192.168.1.20 --mesh-timeout 180",
        );
        assert.deepEqual(
            status.value!.map((s) => [s.node, s.peers.map((p) => `${p.node}@${p.endpoint}:${p.handshakeAgeSeconds}s`), s.problems]),
            [
                ["sh-server", ["tokyo-1@104.156.140.173:51820:20s", "home-1@203.0.113.10:51820:21s"], []],
                ["tokyo-1", ["sh-server@47.100.1.10:51820:20s", "home-1@203.0.113.10:51820:22s"], []],
                ["home-1", ["sh-server@47.100.1.10:51820:20s", "tokyo-1@104.156.140.173:51820:23s"], []],
            ],
        );
        assert.equal(cloud.ofType(TYPES.remoteCommand).filter((c) => c.name.endsWith("-mesh-check")).length, 3);
    });

    it("never throws on what a check printed: no output (ordinary mocks) gives an empty status per node", async () => {
        await MockCloud.install({ fixture: clusterCloudFixture() });
        const { cluster } = buildCluster();
        const status = await resolve(cluster.meshStatus);
        assert.deepEqual(status.value, [
            { node: "sh-server", peers: [], problems: [], warnings: [] },
            { node: "tokyo-1", peers: [], problems: [], warnings: [] },
            { node: "home-1", peers: [], problems: [], warnings: [] },
        ]);
    });

    it("can be turned off", async () => {
        const cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        const { cluster } = buildCluster({ verifyMesh: false });
        assert.deepEqual((await resolve(cluster.meshStatus)).value, []);
        await cloud.settle();
        assert.equal(cloud.registrations.filter((r) => r.name.endsWith("-mesh-check")).length, 0);
    });
});

describe("stale peer pruning in K3sCluster (mocks)", () => {
    it("prunes on every node after its install, re-running whenever the set of nodes changes", async () => {
        let cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        buildCluster();
        await cloud.settle();
        const prune = cloud.named("dev-tokyo-1-prune");
        assert.deepEqual(prune.inputs.triggers, [listDigest(["home-1", "sh-server", "tokyo-1"])]);
        assert.equal(prune.inputs.create, "/opt/k3s-multicloud/bin/k3smc v1 prune --node-name tokyo-1");
        assert.ok(prune.dependencies.includes(cloud.named("dev-tokyo-1-upgrade").urn), "after the node settled (installed, any change applied)");
        assert.ok(cloud.named("dev-mesh-ready").dependencies.includes(prune.urn), "the mesh is checked after pruning");
        assert.equal(cloud.named("dev-home-1-prune").inputs.create, "sudo -n /opt/k3s-multicloud/bin/k3smc v1 prune --node-name home-1");

        // Without home-1 the remaining nodes' prune steps get a new trigger (a replace: they run again).
        cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        const { server, tokyo } = buildClusterHosts();
        new K3sCluster("dev", { k3sVersion: "v1.33.6+k3s1", servers: [server.host], agents: [tokyo.host], options: { disable: ["traefik"] } });
        await cloud.settle();
        assert.deepEqual(cloud.named("dev-tokyo-1-prune").inputs.triggers, [listDigest(["sh-server", "tokyo-1"])]);
        assert.deepEqual(cloud.named("dev-sh-server-prune").inputs.triggers, [listDigest(["sh-server", "tokyo-1"])]);
        assert.equal(cloud.registrations.filter((r) => r.name.startsWith("dev-home-1")).length, 0);
    });
});
