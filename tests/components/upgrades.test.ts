import { strict as assert } from "node:assert";
import { ConfigError, ExistingServer, K3sCluster } from "../../components";
import { refuseDowngrade } from "../../components/k3s/k3sNode";
import { MockCloud, resolve, unwrap } from "../harness/mockCloud";
import { HOST_KEY, SECRETS, secret } from "../harness/fixtures";

type Env = Record<string, unknown>;

function cluster(k3sVersion: string, extra: Partial<ConstructorParameters<typeof K3sCluster>[1]> = {}) {
    const host = (name: string, ip: string) =>
        new ExistingServer(name, { publicIp: ip, location: "lab", privateKey: secret(SECRETS.existingPrivateKey), hostKey: HOST_KEY }).host;
    return new K3sCluster("c", {
        k3sVersion,
        servers: [host("s-1", "203.0.113.1")],
        agents: [1, 2, 3, 4, 5].map((i) => host(`a-${i}`, `203.0.113.${10 + i}`)),
        verifyMesh: false,
        ...extra,
    });
}

describe("upgrades (mocks)", () => {
    it("orders upgrade steps: the server first, then agents at most maxUnavailable at a time", async () => {
        const cloud = await MockCloud.install();
        cluster("v1.33.6+k3s1", { maxUnavailable: 2 });
        await cloud.settle();
        const upgrade = (node: string) => cloud.named(`c-${node}-upgrade`);
        const deps = (node: string) => upgrade(node).dependencies.filter((d) => d.endsWith("-upgrade")).map((d) => d.split("::").pop()).sort();
        assert.deepEqual(deps("s-1"), []);
        assert.deepEqual(deps("a-1"), ["c-s-1-upgrade"]);
        assert.deepEqual(deps("a-2"), ["c-s-1-upgrade"]);
        assert.deepEqual(deps("a-3"), ["c-a-1-upgrade", "c-s-1-upgrade"]);
        assert.deepEqual(deps("a-4"), ["c-a-2-upgrade", "c-s-1-upgrade"]);
        assert.deepEqual(deps("a-5"), ["c-a-3-upgrade", "c-s-1-upgrade"]);
        for (const node of ["s-1", "a-1", "a-5"]) {
            // The install stages a change on a running node; the upgrade step applies it afterwards.
            assert.ok(upgrade(node).dependencies.includes(cloud.named(`c-${node}-install`).urn), `${node} upgrades after its install`);
            assert.ok(!cloud.named(`c-${node}-install`).dependencies.includes(upgrade(node).urn), node);
        }
        // Agents' installs never wait for other agents' upgrade steps: on create they all install at once.
        assert.ok(!cloud.named("c-a-3-install").dependencies.some((d) => d.endsWith("-upgrade")));
        // On create the step does nothing (no SSH); on update it relays: fingerprint, drain, apply, uncordon.
        const step = upgrade("a-3");
        assert.equal(step.type, "command:local:Command");
        assert.equal(step.inputs.create, "true");
        assert.ok((step.inputs.update as string).endsWith("' k3smc-relay upgrade"));
        const env = step.inputs.environment as Record<string, string>;
        assert.equal(env.K3SMC_VERSION, "v1.33.6+k3s1");
        assert.equal(env.K3SMC_DRAIN_COMMAND, "/opt/k3s-multicloud/bin/k3smc v1 drain --node-name s-1 --target-node a-3 --action drain");
        assert.equal(env.K3SMC_UNCORDON_COMMAND, "/opt/k3s-multicloud/bin/k3smc v1 drain --node-name s-1 --target-node a-3 --action uncordon");
        assert.equal(env.K3SMC_TOKEN, undefined, "the token stays with the install step");
        const serverEnv = upgrade("s-1").inputs.environment as Record<string, string>;
        assert.equal(serverEnv.K3SMC_DRAIN_COMMAND, undefined, "a single server is not drained through itself");
    });

    it("a version change changes every upgrade step's fingerprint (an update, run in that order) and no create", async () => {
        let cloud = await MockCloud.install();
        cluster("v1.33.6+k3s1");
        await cloud.settle();
        const before = new Map(cloud.registrations.map((r) => [r.name, r.inputs]));
        cloud = await MockCloud.install();
        cluster("v1.34.2+k3s1", { deployedK3sVersion: "v1.33.6+k3s1" });
        await cloud.settle();
        const changedUpgrades = cloud.registrations
            .filter((r) => r.name.endsWith("-upgrade"))
            .filter((r) => (r.inputs.environment as Env).K3SMC_FINGERPRINT !== (before.get(r.name)!.environment as Env).K3SMC_FINGERPRINT)
            .map((r) => r.name)
            .sort();
        assert.deepEqual(changedUpgrades, ["c-a-1-upgrade", "c-a-2-upgrade", "c-a-3-upgrade", "c-a-4-upgrade", "c-a-5-upgrade", "c-s-1-upgrade"]);
        for (const r of cloud.registrations.filter((r) => r.name.endsWith("-upgrade"))) assert.equal(r.inputs.create, before.get(r.name)!.create);
    });

    it("a rotated SSH key changes the upgrade step's credentials but not its fingerprint, so the relay drains nothing", async () => {
        const build = (key: string) =>
            new K3sCluster("c", {
                k3sVersion: "v1.33.6+k3s1",
                servers: [new ExistingServer("s-1", { publicIp: "203.0.113.1", location: "lab", privateKey: secret(key), hostKey: HOST_KEY }).host],
                agents: [new ExistingServer("a-1", { publicIp: "203.0.113.11", location: "lab", privateKey: secret(key), hostKey: HOST_KEY }).host],
                verifyMesh: false,
            });
        let cloud = await MockCloud.install();
        build(SECRETS.existingPrivateKey);
        await cloud.settle();
        const before = cloud.named("c-a-1-upgrade").inputs.environment as Env;
        cloud = await MockCloud.install();
        build(SECRETS.vultrPrivateKey);
        await cloud.settle();
        const after = cloud.named("c-a-1-upgrade").inputs.environment as Env;
        assert.equal(unwrap(after.K3SMC_NODE_KEY), SECRETS.vultrPrivateKey);
        assert.notEqual(unwrap(before.K3SMC_NODE_KEY), unwrap(after.K3SMC_NODE_KEY));
        // The update runs the relay, which finds the node's fingerprint equal to this one and stops before any drain
        // (tests/scripts/realSsh.test.ts runs that relay over a real SSH hop).
        assert.equal(after.K3SMC_FINGERPRINT, before.K3SMC_FINGERPRINT);
        assert.equal(after.K3SMC_APPLY_COMMAND, before.K3SMC_APPLY_COMMAND);
    });

    it("refuses a downgrade, naming both versions", async () => {
        await MockCloud.install();
        const c = cluster("v1.33.6+k3s1", { deployedK3sVersion: "v1.34.2+k3s1" });
        await assert.rejects(resolve(c.k3sVersion), {
            message: 'c-s-1.k3sVersion = "v1.33.6+k3s1": is older than v1.34.2+k3s1, which the cluster runs, and k3s does not support downgrades. Keep k3sVersion at v1.34.2+k3s1 or newer; to go back, rebuild the cluster (restore an etcd snapshot of the older version).',
        });
        assert.equal(refuseDowngrade("n", "v1.34.2+k3s1", "v1.34.2+k3s1"), "v1.34.2+k3s1");
        assert.equal(refuseDowngrade("n", "v1.34.2+k3s2", "v1.34.2+k3s1"), "v1.34.2+k3s2");
        assert.equal(refuseDowngrade("n", "v1.33.6+k3s1", undefined), "v1.33.6+k3s1");
        assert.throws(() => refuseDowngrade("n", "v1.34.1+k3s1", "v1.34.2+k3s1"), ConfigError);
    });

    it("rejects timeouts that are not whole numbers before anything is registered", async () => {
        const cloud = await MockCloud.install();
        assert.throws(() => cluster("v1.33.6+k3s1", { meshTimeoutSeconds: 1.5 }), {
            message: "K3sCluster(c).meshTimeoutSeconds = 1.5: is not a whole number of seconds from 1 to 3600. Use e.g. 180 (default).",
        });
        assert.throws(() => cluster("v1.33.6+k3s1", { readyTimeoutSeconds: Number.NaN }), {
            message: "K3sCluster(c).readyTimeoutSeconds = NaN: is not a whole number of seconds from 1 to 3600. Use e.g. 300 (default).",
        });
        await cloud.settle();
        assert.deepEqual(cloud.registrations.filter((r) => r.name.startsWith("c-")).map((r) => r.name), []);
    });

    it("rejects a maxUnavailable that is not a positive whole number", async () => {
        await MockCloud.install();
        assert.throws(() => cluster("v1.33.6+k3s1", { maxUnavailable: 0 }), {
            message: "K3sCluster(c).maxUnavailable = 0: is not a whole number from 1 to 500. Use 1 (default) or more.",
        });
    });
});
