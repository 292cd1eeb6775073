import { strict as assert } from "node:assert";
import { AliyunLightweightServer, K3sAgent, K3sServer, VultrServer } from "../../components";
import { MockCloud, UNKNOWN, plainStrings, resolve } from "../harness/mockCloud";
import { SECRETS, SSH_PUBLIC_KEY, TYPES, secret } from "../harness/fixtures";
import { shippedToolkit } from "../../components/toolkit/bundle";

describe("k3s nodes in preview (unknown addresses, token and kubeconfig)", () => {
    it("constructs a server and an agent without throwing, with unknown commands and no secret in plain inputs", async () => {
        const cloud = await MockCloud.install({ preview: true });
        const swas = new AliyunLightweightServer("sh-1", { region: "cn-shanghai", planId: "p", imageId: "i" });
        const vultr = new VultrServer("tokyo-1", {
            region: "nrt",
            plan: "vc2-1c-2gb",
            osId: 2284,
            sshPublicKey: SSH_PUBLIC_KEY,
            sshPrivateKey: secret(SECRETS.vultrPrivateKey),
        });
        const server = new K3sServer("sh-1-k3s", { host: swas.host, k3sVersion: "v1.33.6+k3s1" });
        new K3sAgent("tokyo-1-k3s", { host: vultr.host, k3sVersion: "v1.33.6+k3s1", server });

        const kubeconfig = await resolve(server.kubeconfig);
        assert.deepEqual([kubeconfig.known, kubeconfig.secret], [false, true]);
        assert.equal((await resolve(server.configYaml)).known, false);
        await cloud.settle();

        const install = cloud.named("sh-1-k3s-install");
        assert.equal(install.inputs.create, UNKNOWN, "the config needs the address, unknown before create");
        // The prepare step needs no address: it is fully known in the first preview.
        const prepare = cloud.named("tokyo-1-k3s-prepare").inputs;
        assert.ok((prepare.create as string).endsWith(` k3smc-deliver ${shippedToolkit().id} ${shippedToolkit().sha256} v1 prepare --node-name tokyo-1 --kube-proxy-mode iptables`));
        assert.equal(prepare.stdin, shippedToolkit().payload);
        // Its trigger, the instance id, is unknown until the instance exists.
        assert.deepEqual(prepare.triggers, [UNKNOWN]);
        // Each node's steps, including the server's CA hash read from its token (known only after install).
        assert.deepEqual(cloud.ofType(TYPES.remoteCommand).map((r) => r.name).sort(), [
            "sh-1-k3s-ca-hash",
            "sh-1-k3s-install",
            "sh-1-k3s-kubeconfig",
            "sh-1-k3s-prepare",
            "tokyo-1-k3s-install",
            "tokyo-1-k3s-prepare",
        ]);
        assert.equal(cloud.named("sh-1-k3s-ca-hash").inputs.create, "/opt/k3s-multicloud/bin/k3smc v1 ca-hash --node-name sh-1");
        const leaks = cloud.registrations.flatMap((r) =>
            plainStrings(r.inputs)
                .filter(({ value }) => value.includes(SECRETS.vultrPrivateKey) || value.includes("generated-password"))
                .map(({ path }) => `${r.name}.${path}`),
        );
        assert.deepEqual(leaks, []);
    });
});
