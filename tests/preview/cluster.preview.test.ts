import { strict as assert } from "node:assert";
import { MockCloud, UNKNOWN, plainStrings, resolve } from "../harness/mockCloud";
import { buildCluster } from "../harness/clusterFixture";
import { SECRETS } from "../harness/fixtures";

describe("K3sCluster in preview (first preview of a new stack)", () => {
    it("constructs with unknown addresses and kubeconfig, leaking no secret into plain inputs", async () => {
        const cloud = await MockCloud.install({ preview: true });
        const { cluster } = buildCluster({ nodeAnnotations: { "home-1": { "example.com/owner": "ops" } } });
        const [kubeconfig, nodes] = await Promise.all([resolve(cluster.kubeconfig), resolve(cluster.nodes)]);
        assert.deepEqual([kubeconfig.known, kubeconfig.secret], [false, true]);
        assert.equal(nodes.known, false);
        await cloud.settle();

        const provider = cloud.named("dev-k8s");
        assert.equal(provider.inputs.kubeconfig, UNKNOWN);
        assert.equal(provider.inputs.clusterIdentifier, "k3s-multicloud-dev", "known even while the kubeconfig is not");
        // The existing server's address is known, so its patch is fully shown in the first preview.
        assert.deepEqual(cloud.named("dev-home-1-metadata-patch").inputs.metadata, {
            name: "home-1",
            annotations: { "example.com/owner": "ops", "flannel.alpha.coreos.com/public-ip-overwrite": "203.0.113.10", "pulumi.com/patchForce": "true" },
            labels: { "k3s-multicloud/cloud": "existing", "topology.kubernetes.io/region": "home-lab" },
        });
        const leaks = cloud.registrations.flatMap((r) =>
            plainStrings(r.inputs)
                .filter(({ value }) => [SECRETS.vultrPrivateKey, SECRETS.existingPrivateKey, "generated-password"].some((s) => value.includes(s)))
                .map(({ path }) => `${r.name}.${path}`),
        );
        assert.deepEqual(leaks, []);
    });
});
