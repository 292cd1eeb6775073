import { strict as assert } from "node:assert";
import { AliyunLightweightServer, ExistingServer, VultrServer } from "../../components";
import { MockCloud, SWAS_GET_INSTANCES, UNKNOWN, plainStrings, resolve } from "../harness/mockCloud";
import { HOST_KEY, SECRETS, SSH_PUBLIC_KEY, TYPES, secret } from "../harness/fixtures";

/**
 * The first `pulumi preview` of a new stack: no instance exists, so ids and addresses are unknown. Everything must
 * still construct, and nothing secret may leak while values are unknown.
 */
describe("host components in preview (unknown ids and addresses)", () => {
    let cloud: MockCloud;
    beforeEach(async () => {
        cloud = await MockCloud.install({ preview: true });
    });

    it("constructs all three kinds with unknown addresses, without throwing", async () => {
        const aliyun = new AliyunLightweightServer("sh-1", { region: "cn-shanghai", planId: "p", imageId: "i" });
        const vultr = new VultrServer("tokyo-1", {
            region: "nrt",
            plan: "vc2-1c-2gb",
            osName: "Ubuntu 24.04 LTS x64",
            sshPublicKey: SSH_PUBLIC_KEY,
            sshPrivateKey: secret(SECRETS.vultrPrivateKey),
        });
        const existing = new ExistingServer("home-1", {
            publicIp: "203.0.113.10",
            location: "home",
            password: secret(SECRETS.existingPassword),
            hostKey: HOST_KEY,
        });

        const aliyunIp = await resolve(aliyun.host.publicIp);
        const vultrIp = await resolve(vultr.host.publicIp);
        const existingIp = await resolve(existing.host.publicIp);
        assert.deepEqual([aliyunIp.known, vultrIp.known, existingIp.known], [false, false, true]);
        assert.equal(existingIp.value, "203.0.113.10");
        const connection = await resolve(aliyun.host.connection);
        assert.deepEqual([connection.known, connection.secret], [false, true]);

        await cloud.settle();
        // The SWAS address lookup waits for the instance id, so it is not called during the first preview.
        assert.deepEqual(cloud.calls.filter((c) => c.token === SWAS_GET_INSTANCES), []);
        const instance = cloud.ofType(TYPES.vultrInstance)[0];
        assert.equal(instance.inputs.firewallGroupId, UNKNOWN);
        assert.deepEqual(instance.inputs.sshKeyIds, [UNKNOWN]);
        // An unknown secret is sent as a bare unknown: the engine learns it is secret once it resolves.
        assert.equal(cloud.ofType(TYPES.swasInstance)[0].inputs.password, UNKNOWN);
        const leaked = cloud.registrations.flatMap((r) =>
            plainStrings(r.inputs)
                .filter(({ value }) => [SECRETS.vultrPrivateKey, SECRETS.existingPassword].some((s) => value.includes(s)))
                .map(({ path }) => `${r.name}.${path}`),
        );
        assert.deepEqual(leaked, []);
    });
});
