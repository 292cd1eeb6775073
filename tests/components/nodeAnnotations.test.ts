import { strict as assert } from "node:assert";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NodeAnnotations } from "../../components";
import { MockCloud, Registration, isSecretValue, resolve, unwrap } from "../harness/mockCloud";
import { buildCluster, clusterCloudFixture } from "../harness/clusterFixture";

const NODE_PATCH = "kubernetes:core/v1:NodePatch";
const OVERWRITE = "flannel.alpha.coreos.com/public-ip-overwrite";

/** Everything the cluster registered for one node's metadata, as comparable JSON. */
function metadataOf(cloud: MockCloud, node: string): { patch: string; restart: string; trigger: unknown } {
    const patch = cloud.named(`dev-${node}-metadata-patch`);
    const restart = cloud.named(`dev-${node}-metadata-restart`);
    return { patch: JSON.stringify(patch.inputs), restart: JSON.stringify(restart.inputs.create), trigger: restart.inputs.triggers };
}

describe("node annotations (mocks)", () => {
    it("patches each node with the managed keys, forcing ownership, through the cluster's provider, after its install", async () => {
        const cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        buildCluster({ nodeAnnotations: { "tokyo-1": { "example.com/owner": "ops" } }, nodeLabels: { "home-1": { tier: "edge" } } });
        await cloud.settle();
        const patches = cloud.ofType(NODE_PATCH);
        assert.deepEqual(patches.map((p) => p.name).sort(), ["dev-home-1-metadata-patch", "dev-sh-server-metadata-patch", "dev-tokyo-1-metadata-patch"]);

        assert.deepEqual(cloud.named("dev-tokyo-1-metadata-patch").inputs, {
            apiVersion: "v1",
            kind: "Node",
            metadata: {
                name: "tokyo-1",
                annotations: {
                    "example.com/owner": "ops",
                    [OVERWRITE]: "104.156.140.173",
                    "pulumi.com/patchForce": "true",
                },
                labels: { "k3s-multicloud/cloud": "vultr", "topology.kubernetes.io/region": "nrt" },
            },
        });
        assert.deepEqual(cloud.named("dev-home-1-metadata-patch").inputs.metadata, {
            name: "home-1",
            annotations: { [OVERWRITE]: "203.0.113.10", "pulumi.com/patchForce": "true" },
            labels: { "k3s-multicloud/cloud": "existing", tier: "edge", "topology.kubernetes.io/region": "home-lab" },
        });

        const provider = cloud.named("dev-k8s");
        for (const patch of patches) {
            assert.equal(patch.provider, `${provider.urn}::dev-k8s-id`, `${patch.name} uses the cluster's provider`);
        }
        // After the node settled - installed, any staged change applied by its upgrade step - through its removal
        // step, so on removal the patch goes while the Node exists.
        for (const node of ["sh-server", "tokyo-1", "home-1"]) {
            const removal = cloud.named(`dev-${node}-removal`);
            assert.ok(cloud.named(`dev-${node}-metadata-patch`).dependencies.includes(removal.urn), node);
            assert.ok(removal.dependencies.includes(cloud.named(`dev-${node}-upgrade`).urn), node);
            assert.ok(cloud.named(`dev-${node}-upgrade`).dependencies.includes(cloud.named(`dev-${node}-install`).urn), node);
        }
    });

    it("builds the provider from the secret kubeconfig with a fixed cluster identifier", async () => {
        const cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        buildCluster();
        await cloud.settle();
        const provider = cloud.named("dev-k8s");
        assert.equal(provider.type, "pulumi:providers:kubernetes");
        assert.ok(isSecretValue(provider.inputs.kubeconfig), "kubeconfig input must be secret");
        assert.match(unwrap(provider.inputs.kubeconfig), /server: https:\/\/47\.100\.1\.10:6443/);
        assert.equal(provider.inputs.clusterIdentifier, "k3s-multicloud-dev");
        assert.equal(provider.inputs.deleteUnreachable, "true");
    });

    it("restarts k3s after the patch, with the expected address, only when a flannel start key changes", async () => {
        let cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        buildCluster();
        await cloud.settle();
        const restart = cloud.named("dev-tokyo-1-metadata-restart");
        assert.deepEqual(restart.inputs.triggers, [
            "flannel.alpha.coreos.com/public-ip-overwrite=104.156.140.173\nflannel.alpha.coreos.com/public-ipv6-overwrite=",
        ]);
        assert.ok(restart.dependencies.includes(cloud.named("dev-tokyo-1-metadata-patch").urn));
        assert.equal(
            restart.inputs.create,
            "/opt/k3s-multicloud/bin/k3smc v1 restart --node-name tokyo-1 --role agent --expected-public-ip 104.156.140.173 --ready-timeout 300",
        );
        assert.equal(
            cloud.named("dev-home-1-metadata-restart").inputs.create,
            "sudo -n /opt/k3s-multicloud/bin/k3smc v1 restart --node-name home-1 --role agent --expected-public-ip 203.0.113.10 --ready-timeout 300",
        );
        assert.equal(
            cloud.named("dev-sh-server-metadata-restart").inputs.create,
            "/opt/k3s-multicloud/bin/k3smc v1 restart --node-name sh-server --role server --expected-public-ip 47.100.1.10 --ready-timeout 300",
        );
        const before = ["sh-server", "tokyo-1", "home-1"].map((node) => metadataOf(cloud, node));

        // The same program with a new public IP for the Vultr node.
        cloud = await MockCloud.install({ fixture: clusterCloudFixture({ vultrIp: "104.156.140.200" }) });
        buildCluster();
        await cloud.settle();
        const after = ["sh-server", "tokyo-1", "home-1"].map((node) => metadataOf(cloud, node));
        assert.deepEqual(after[0], before[0], "the server's metadata is untouched");
        assert.deepEqual(after[2], before[2], "the other agent's metadata is untouched");
        assert.notEqual(after[1].patch, before[1].patch);
        assert.notDeepEqual(after[1].trigger, before[1].trigger);
        assert.match(after[1].patch, /"flannel.alpha.coreos.com\/public-ip-overwrite":"104.156.140.200"/);
    });

    it("changing another annotation changes the patch but not the restart", async () => {
        let cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        buildCluster({ nodeAnnotations: { "tokyo-1": { "example.com/owner": "ops" } } });
        await cloud.settle();
        const before = metadataOf(cloud, "tokyo-1");
        cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        buildCluster({ nodeAnnotations: { "tokyo-1": { "example.com/owner": "dev" } } });
        await cloud.settle();
        const after = metadataOf(cloud, "tokyo-1");
        assert.notEqual(after.patch, before.patch);
        assert.deepEqual([after.restart, after.trigger], [before.restart, before.trigger]);
    });

    it("works standalone, and marked keys restart without the address check", async () => {
        const cloud = await MockCloud.install();
        const provider = new k8s.Provider("k8s", { kubeconfig: pulumi.secret("apiVersion: v1") });
        const install = new k8s.core.v1.Namespace("stand-in-for-install", {}, { provider });
        new NodeAnnotations("lab-1-meta", {
            nodeName: "lab-1",
            annotations: { "example.com/mtu": "1380" },
            provider,
            registeredBy: install,
            restart: { connection: pulumi.secret({ host: "203.0.113.5", port: 22, user: "root", password: "pw", dialErrorLimit: 60, perDialTimeout: 15 }), sudo: false, role: "agent", restartKeys: ["example.com/mtu"] },
        });
        await cloud.settle();
        const restart: Registration = cloud.named("lab-1-meta-restart");
        assert.deepEqual(restart.inputs.triggers, [
            "example.com/mtu=1380\nflannel.alpha.coreos.com/public-ip-overwrite=\nflannel.alpha.coreos.com/public-ipv6-overwrite=",
        ]);
        // No expected address: the restart verb restarts whatever flannel advertises.
        assert.equal(restart.inputs.create, "/opt/k3s-multicloud/bin/k3smc v1 restart --node-name lab-1 --role agent --ready-timeout 300");
    });

    it("rejects a user overwrite that differs from the node's public IP, where the address is known at preview", async () => {
        await MockCloud.install({ fixture: clusterCloudFixture() });
        const { cluster } = buildCluster({ nodeAnnotations: { "home-1": { [OVERWRITE]: "198.51.100.1" } } });
        const home = cluster.annotations[2]; // servers first, then agents in order: sh-server, tokyo-1, home-1
        await assert.rejects(resolve(home.annotations), {
            message: 'K3sCluster(dev).home-1.annotations["flannel.alpha.coreos.com/public-ip-overwrite"] = "198.51.100.1": differs from the node\'s public IP 203.0.113.10, and k3s rewrites this annotation from node-external-ip at every start. Remove it: this project sets it to the host\'s publicIp; to advertise another address, change the host\'s publicIp.',
        });
    });
});
