import { strict as assert } from "node:assert";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ExistingServer, K3sCluster, VultrServer } from "../../components";

/**
 * What a consumer's unit test does, following the Pulumi docs: plain mocks that echo the inputs as state (no command
 * output, no cloud addresses beyond what it invents). Building a cluster and deploying on `cluster.provider` must
 * settle quickly, with no error thrown from inside the components.
 */
describe("a consumer's test with ordinary mocks (state = inputs)", () => {
    it("builds a cluster of an existing server and a Vultr agent, deploys a ConfigMap on cluster.provider, and settles", async () => {
        const rejections: unknown[] = [];
        const onRejection = (reason: unknown) => rejections.push(reason);
        process.on("unhandledRejection", onRejection);
        try {
            const registered: string[] = [];
            await pulumi.runtime.setMocks(
                {
                    newResource: (args) => {
                        registered.push(args.type);
                        return { id: `${args.name}-id`, state: args.type === "vultr:index/instance:Instance" ? { ...args.inputs, mainIp: "198.51.100.7" } : args.inputs };
                    },
                    call: (args) => (args.token === "vultr:index/getOs:getOs" ? { id: "2284" } : args.inputs),
                },
                "consumer",
                "test",
            );
            const server = new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", privateKey: pulumi.secret("key"), hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Qta2V5" });
            const agent = new VultrServer("tokyo-1", { region: "nrt", plan: "vc2-1c-2gb", osId: 2284, sshPublicKey: "ssh-ed25519 AAAA x", sshPrivateKey: pulumi.secret("key") });
            const cluster = new K3sCluster("dev", { k3sVersion: "v1.33.6+k3s1", servers: [server.host], agents: [agent.host] });
            const map = new k8s.core.v1.ConfigMap("settings", { data: { a: "b" } }, { provider: cluster.provider });

            const started = Date.now();
            const [kubeconfig, status, mapName] = await Promise.all([
                outputValue(cluster.kubeconfig),
                outputValue(cluster.meshStatus),
                outputValue(map.metadata.name),
            ]);
            assert.ok(Date.now() - started < 30_000);
            assert.match(kubeconfig, /^# k3s-multicloud: placeholder, no credentials/);
            assert.match(kubeconfig, /server: https:\/\/203\.0\.113\.10:6443/);
            assert.deepEqual(status, [
                { node: "home-1", peers: [], problems: [], warnings: [] },
                { node: "tokyo-1", peers: [], problems: [], warnings: [] },
            ]);
            assert.equal(mapName, undefined, "plain mocks echo inputs: no metadata was given");
            assert.ok(registered.includes("kubernetes:core/v1:ConfigMap"));
            await new Promise((resolve) => setTimeout(resolve, 100));
            assert.deepEqual(rejections, []);
        } finally {
            process.off("unhandledRejection", onRejection);
        }
    });
});

function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}
