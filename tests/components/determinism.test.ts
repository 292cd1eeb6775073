import { strict as assert } from "node:assert";
import { MockCloud } from "../harness/mockCloud";
import { buildCluster, clusterCloudFixture } from "../harness/clusterFixture";

/**
 * An unchanged `pulumi up` must plan zero changes and run zero remote commands: two evaluations of the same program
 * must register the same resources with byte-identical inputs.
 */
describe("deterministic evaluation", () => {
    async function evaluate() {
        const cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        buildCluster({ nodeAnnotations: { "tokyo-1": { "example.com/b": "2", "example.com/a": "1" } }, nodeLabels: { "home-1": { z: "1", a: "2" } } });
        await cloud.settle();
        return new Map(cloud.registrations.map((r) => [r.urn, JSON.stringify(r.inputs)]));
    }

    it("registers byte-identical inputs for every resource on a second evaluation", async () => {
        const first = await evaluate();
        const second = await evaluate();
        assert.equal(first.size, 60); // hosts and their cloud resources (a host-key check each, a generated key for Vultr), the cluster and its two tokens, 3 nodes with upgrade, removal, metadata, host firewall, prune and mesh steps, the mesh barrier, the server's CA-hash read
        assert.deepEqual([...second.keys()].sort(), [...first.keys()].sort());
        const differing = [...first].filter(([urn, inputs]) => second.get(urn) !== inputs).map(([urn]) => urn);
        assert.deepEqual(differing, []);
    });
});
