import { strict as assert } from "node:assert";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AliyunLightweightServer, ExistingServer, K3sCluster, VultrServer } from "../../components";

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

describe("a consumer's test whose mocks answer every call with {} (an Alibaba server needs look-ups)", () => {
    it("settles within seconds with a SWAS server, a Vultr agent and an existing server, naming each look-up the mocks must answer", async () => {
        const warnings: string[] = [];
        const warn = pulumi.log.warn;
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = (message: string) => {
            warnings.push(message);
            return Promise.resolve();
        };
        try {
            await pulumi.runtime.setMocks({ newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) }, "consumer", "test");
            const swas = new AliyunLightweightServer("sh-1", { region: "cn-shanghai", planSize: { core: 2, memory: 2 }, imageId: "image-ubuntu-2204" });
            const home = new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", privateKey: pulumi.secret("key"), hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Qta2V5" });
            const agent = new VultrServer("tokyo-1", { region: "nrt", plan: "vc2-1c-2gb", osId: 2284, sshPublicKey: "ssh-ed25519 AAAA x", sshPrivateKey: pulumi.secret("key") });
            const cluster = new K3sCluster("dev", { k3sVersion: "v1.33.6+k3s1", servers: [swas.host], agents: [agent.host, home.host] });
            const map = new k8s.core.v1.ConfigMap("settings", { data: { a: "b" } }, { provider: cluster.provider });
            // Before, the unanswered look-up left these pending: the test hung until mocha's timeout.
            const [kubeconfig, data] = await Promise.all([outputValue(cluster.kubeconfig), outputValue(map.data)]);
            assert.match(kubeconfig, /^# k3s-multicloud: placeholder, no credentials/);
            assert.deepEqual(data, { a: "b" });
            assert.deepEqual(
                warnings.filter((w) => w.includes("the test's mocks answered")).sort(),
                [
                    'SWAS instance lookup returned no instance for sh-1: the test\'s mocks answered alicloud:simpleapplicationserver/getInstances:getInstances without a result. Answer it in your mocks\' call(), e.g. `call: (args) => args.token === "alicloud:simpleapplicationserver/getInstances:getInstances" ? { instances: [{ publicIpAddress: "47.100.1.10", innerIpAddress: "172.17.61.146" }] } : args.inputs`; a placeholder stands in meanwhile.',
                    'no SWAS plan in cn-shanghai matches {"core":2,"memory":2}: the test\'s mocks answered alicloud:simpleapplicationserver/getServerPlans:getServerPlans without a result. Answer it in your mocks\' call(), e.g. `call: (args) => args.token === "alicloud:simpleapplicationserver/getServerPlans:getServerPlans" ? { plans: [{ id: "swas.s2.c2m2s40b4t1" }] } : args.inputs`; a placeholder stands in meanwhile.',
                ],
            );
        } finally {
            (pulumi.log as { warn: typeof pulumi.log.warn }).warn = warn;
        }
    });
});

function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}
