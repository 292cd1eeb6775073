import { strict as assert } from "node:assert";
import { deployWhoami } from "../../examples/workload/whoami";
import { MockCloud } from "../harness/mockCloud";
import { buildCluster, clusterCloudFixture } from "../harness/clusterFixture";

describe("example workload through cluster.provider (mocks)", () => {
    it("deploys every Kubernetes resource with the cluster's provider", async () => {
        const cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        const { cluster } = buildCluster();
        deployWhoami(cluster);
        await cloud.settle();
        const providerRef = `${cloud.named("dev-k8s").urn}::dev-k8s-id`;
        const workload = cloud.registrations.filter((r) => r.name === "whoami");
        assert.deepEqual(workload.map((r) => r.type).sort(), ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Namespace", "kubernetes:core/v1:Service"]);
        for (const r of workload) assert.equal(r.provider, providerRef, r.type);
        const deployment = workload.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
        assert.equal((deployment.inputs as any).spec.template.spec.topologySpreadConstraints[0].topologyKey, "k3s-multicloud/cloud");
    });
});
