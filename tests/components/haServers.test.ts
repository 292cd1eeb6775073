import { strict as assert } from "node:assert";
import { ExistingServer, K3sCluster } from "../../components";
import { MockCloud, TEST_CA_HASH, unwrap } from "../harness/mockCloud";
import { HOST_KEY, SECRETS, secret } from "../harness/fixtures";

/**
 * Several servers (embedded etcd) act one at a time: with three, two members down at once is a lost quorum. Joining
 * servers send their token to the first one in k3s' secure format, and agents join a complete control plane.
 */
describe("HA servers, one at a time (mocks)", () => {
    let cloud: MockCloud;
    beforeEach(async () => {
        cloud = await MockCloud.install();
    });

    const existing = (name: string, publicIp: string) =>
        new ExistingServer(name, { publicIp, location: "fra", privateKey: secret(SECRETS.existingPrivateKey), hostKey: HOST_KEY }).host;

    function build() {
        return new K3sCluster("ha", {
            k3sVersion: "v1.33.6+k3s1",
            servers: [existing("s-1", "198.51.100.1"), existing("s-2", "198.51.100.2"), existing("s-3", "198.51.100.3")],
            agents: [existing("a-1", "203.0.113.1"), existing("a-2", "203.0.113.2")],
            token: secret("server-token-for-ha"),
        });
    }

    const dependsOn = (name: string, on: string) => cloud.named(name).dependencies.includes(cloud.named(on).urn);

    it("installs, upgrades and restarts the servers one after another", async () => {
        build();
        await cloud.settle();
        for (const step of ["install", "upgrade", "metadata-restart"]) {
            assert.ok(dependsOn(`ha-s-2-${step}`, `ha-s-1-${step}`), `s-2's ${step} waits for s-1's`);
            assert.ok(dependsOn(`ha-s-3-${step}`, `ha-s-2-${step}`), `s-3's ${step} waits for s-2's`);
        }
    });

    it("agents join after every server, and still not after each other", async () => {
        build();
        await cloud.settle();
        for (const agent of ["a-1", "a-2"]) assert.ok(dependsOn(`ha-${agent}-install`, "ha-s-3-install"), `${agent} waits for the last server`);
        assert.ok(!dependsOn("ha-a-2-install", "ha-a-1-install"));
    });

    it("joining servers get the server token in secure format (K10<CA hash>::server:), the first server the token itself", async () => {
        build();
        await cloud.settle();
        const stdin = (name: string) => unwrap(cloud.named(name).inputs.stdin) as string;
        const agentToken = "generated-password-for-ha-agent-token";
        assert.equal(stdin("ha-s-1-install"), `server-token-for-ha\n${agentToken}\n`);
        assert.equal(stdin("ha-s-2-install"), `K10${TEST_CA_HASH}::server:server-token-for-ha\n${agentToken}\n`);
        assert.equal(stdin("ha-s-3-install"), `K10${TEST_CA_HASH}::server:server-token-for-ha\n${agentToken}\n`);
        assert.equal(stdin("ha-a-1-install"), `K10${TEST_CA_HASH}::node:${agentToken}\n`);
        // The hash comes from the first server's ca-hash step, re-read when caGeneration changes.
        assert.deepEqual(cloud.named("ha-s-1-ca-hash").inputs.triggers, [0]);
        assert.equal(cloud.named("ha-s-1-ca-hash").inputs.create, "/opt/k3s-multicloud/bin/k3smc v1 ca-hash --node-name s-1");
    });
});
