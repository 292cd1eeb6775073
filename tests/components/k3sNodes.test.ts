import { strict as assert } from "node:assert";
import { AliyunLightweightServer, ExistingServer, K3sAgent, K3sServer, VultrServer } from "../../components";
import { MockCloud, isSecretValue, plainStrings, resolve, unwrap } from "../harness/mockCloud";
import { K3S_YAML, SECRETS, SSH_PUBLIC_KEY, TYPES, secret } from "../harness/fixtures";

const VERSION = "v1.33.6+k3s1";
const fixture = {
    swas: { "sh-server": { publicIp: "47.100.1.10", privateIp: "172.17.61.146" } },
    vultr: { "tokyo-1": { mainIp: "104.156.140.173" }, "tokyo-2": { mainIp: "104.156.140.174" } },
    outputs: { "sh-server-k3s-kubeconfig": { stdout: K3S_YAML } },
};

function build() {
    const swas = new AliyunLightweightServer("sh-server", { region: "cn-shanghai", planId: "p", imageId: "i" });
    const vultr = ["tokyo-1", "tokyo-2"].map(
        (name) =>
            new VultrServer(name, {
                region: "nrt",
                plan: "vc2-1c-2gb",
                osId: 2284,
                sshPublicKey: SSH_PUBLIC_KEY,
                sshPrivateKey: secret(SECRETS.vultrPrivateKey),
            }),
    );
    const home = new ExistingServer("home-1", {
        publicIp: "203.0.113.10",
        privateIp: "192.168.1.20",
        location: "home",
        user: "ubuntu",
        privateKey: secret(SECRETS.existingPrivateKey),
    });
    const options = { disable: ["traefik"] };
    const server = new K3sServer("sh-server-k3s", { host: swas.host, k3sVersion: VERSION, options, clusterName: "dev" });
    const agents = [...vultr.map((v) => v.host), home.host].map(
        (host) => new K3sAgent(`${host.name}-k3s`, { host, k3sVersion: VERSION, server, options }),
    );
    return { swas, vultr, home, server, agents };
}

describe("K3sServer and K3sAgent (mocks)", () => {
    let cloud: MockCloud;
    beforeEach(async () => {
        cloud = await MockCloud.install({ fixture });
    });

    it("registers prepare and install steps per node, the install carrying the rendered config and uninstall", async () => {
        const { server } = build();
        const config = await resolve(server.configYaml);
        await cloud.settle();
        const install = cloud.named("sh-server-k3s-install");
        assert.equal(install.type, TYPES.remoteCommand);
        const create = install.inputs.create as string;
        assert.ok(create.startsWith("env K3SMC_CONFIG='# Rendered by k3s-multicloud."), create.slice(0, 80));
        assert.ok(create.includes("node-external-ip: 47.100.1.10\nflannel-backend: wireguard-native\nflannel-external-ip: true\n"));
        assert.ok(create.includes(" K3SMC_MIRROR='cn' "), "mainland SWAS installs from the China mirror");
        assert.ok(create.includes(" K3SMC_ROLE='server' K3SMC_VERSION='v1.33.6+k3s1' bash -c '"));
        assert.equal(install.inputs.delete, undefined, "uninstall belongs to the removal step");
        assert.ok(config.value!.includes("tls-san:\n  - 47.100.1.10\n"));
        // Only triggers replace a command (the SDK's default); we set none, so a config change updates in place.
        assert.deepEqual(install.replaceOnChanges, ["triggers[*]"]);
        assert.equal(install.inputs.triggers, undefined);
    });

    it("keeps the token out of every command text and plain input, and feeds it through secret stdin", async () => {
        const { server } = build();
        const token = (await resolve(server.token)).value!;
        assert.equal(token, "generated-password-for-sh-server-k3s-token");
        await cloud.settle();
        const commands = cloud.ofType(TYPES.remoteCommand);
        assert.equal(commands.length, 4 * 2 + 1);
        for (const registration of cloud.registrations) {
            for (const { path, value } of plainStrings(registration.inputs)) {
                assert.ok(!value.includes(token), `${registration.name}.${path} carries the token`);
            }
        }
        const installs = commands.filter((c) => c.name.endsWith("-install"));
        assert.equal(installs.length, 4);
        for (const install of installs) {
            assert.ok(isSecretValue(install.inputs.stdin), `${install.name} stdin must be secret`);
            assert.equal(unwrap(install.inputs.stdin), `${token}\n`);
        }
        for (const c of commands) {
            assert.equal(c.inputs.environment, undefined, `${c.name} must not use environment (sshd refuses it)`);
            assert.ok(isSecretValue(c.inputs.connection), `${c.name} connection must be secret`);
        }
    });

    it("reads the kubeconfig with logging off and secret outputs, and points it at the public IP", async () => {
        const { server } = build();
        const kubeconfig = await resolve(server.kubeconfig);
        await cloud.settle();
        const read = cloud.named("sh-server-k3s-kubeconfig");
        assert.equal(read.inputs.logging, "none");
        assert.deepEqual([...read.additionalSecretOutputs].sort(), ["connection", "stderr", "stdout"]);
        assert.ok(read.dependencies.includes(cloud.named("sh-server-k3s-install").urn));
        assert.equal(kubeconfig.secret, true);
        assert.match(kubeconfig.value!, /^ {4}server: https:\/\/47\.100\.1\.10:6443$/m);
        assert.match(kubeconfig.value!, /^current-context: dev$/m);
    });

    it("makes each agent's install depend on the server's install and on nothing of other agents", async () => {
        build();
        await cloud.settle();
        const serverInstall = cloud.named("sh-server-k3s-install");
        const agentNames = ["tokyo-1-k3s", "tokyo-2-k3s", "home-1-k3s"];
        for (const agent of agentNames) {
            const install = cloud.named(`${agent}-install`);
            const prepare = cloud.named(`${agent}-prepare`);
            const host = agent.replace(/-k3s$/, "");
            // Explicit: own prepare, own upgrade step and the server's install. Through its inputs: the addresses in
            // its config (own host, server host) and the token.
            const expected = [prepare.urn, cloud.named(`${agent}-upgrade`).urn, serverInstall.urn, cloud.named("sh-server-instance").urn, cloud.named("sh-server-k3s-token").urn];
            if (host !== "home-1") expected.push(cloud.named(`${host}-instance`).urn);
            assert.deepEqual([...install.dependencies].sort(), expected.sort(), agent);
            for (const other of agentNames.filter((a) => a !== agent)) {
                for (const dep of install.dependencies) assert.ok(!dep.includes(other), `${agent} depends on ${other}`);
            }
        }
        // Agents' prepare steps wait only for their own host, so they run while the server installs.
        const tokyoPrepare = cloud.named("tokyo-1-k3s-prepare");
        assert.deepEqual(tokyoPrepare.dependencies, [cloud.named("tokyo-1-instance").urn]);
    });

    it("joins agents to the server's public IP and advertises each agent's own public IP", async () => {
        const { agents } = build();
        const [tokyo, , home] = await Promise.all(agents.map((a) => resolve(a.configYaml)));
        assert.match(tokyo.value!, /^server: https:\/\/47\.100\.1\.10:6443\n/m);
        assert.match(tokyo.value!, /^node-ip: 104\.156\.140\.173\nnode-external-ip: 104\.156\.140\.173\n/m);
        assert.match(home.value!, /^node-ip: 192\.168\.1\.20\nnode-external-ip: 203\.0\.113\.10\n/m);
        await cloud.settle();
        assert.ok((cloud.named("tokyo-1-k3s-install").inputs.create as string).includes(" K3SMC_MIRROR='github' "));
    });

    it("runs every step on a non-root host through sudo -n", async () => {
        build();
        await cloud.settle();
        for (const step of ["prepare", "install"]) {
            const text = cloud.named(`home-1-k3s-${step}`).inputs.create as string;
            assert.ok(text.startsWith("sudo -n env "), `${step}: ${text.slice(0, 30)}`);
            assert.ok(!(cloud.named(`tokyo-1-k3s-${step}`).inputs.create as string).startsWith("sudo"));
        }
        const removal = unwrap(cloud.named("home-1-k3s-removal").inputs.environment) as Record<string, string>;
        assert.ok(removal.K3SMC_UNINSTALL_COMMAND.startsWith("sudo -n env K3SMC_NODE_NAME='home-1' K3SMC_ROLE='agent' bash -c '"));
    });

    it("stores everything the removal needs with it: node and server connections, drain and uninstall commands", async () => {
        build();
        await cloud.settle();
        const removal = cloud.named("tokyo-1-k3s-removal");
        assert.equal(removal.type, "command:local:Command");
        assert.equal(removal.inputs.create, "true");
        assert.ok((removal.inputs.delete as string).startsWith("bash -c '"));
        assert.ok((removal.inputs.delete as string).endsWith("' k3s-multicloud-remove-node"));
        assert.ok(isSecretValue(removal.inputs.environment), "the environment holds keys: secret");
        const env = unwrap(removal.inputs.environment) as Record<string, string>;
        assert.deepEqual(Object.keys(env).sort(), [
            "K3SMC_DRAIN_COMMAND",
            "K3SMC_NODE_HOST",
            "K3SMC_NODE_KEY",
            "K3SMC_NODE_NAME",
            "K3SMC_NODE_PORT",
            "K3SMC_NODE_USER",
            "K3SMC_SERVER_HOST",
            "K3SMC_SERVER_PASSWORD",
            "K3SMC_SERVER_PORT",
            "K3SMC_SERVER_USER",
            "K3SMC_UNINSTALL_COMMAND",
        ]);
        assert.deepEqual(
            [env.K3SMC_NODE_NAME, env.K3SMC_NODE_HOST, env.K3SMC_NODE_PORT, env.K3SMC_NODE_USER, env.K3SMC_NODE_KEY],
            ["tokyo-1", "104.156.140.173", "22", "root", SECRETS.vultrPrivateKey],
        );
        assert.deepEqual([env.K3SMC_SERVER_HOST, env.K3SMC_SERVER_USER, env.K3SMC_SERVER_PASSWORD], ["47.100.1.10", "root", "generated-password-for-sh-server-root-password"]);
        assert.ok(env.K3SMC_DRAIN_COMMAND.startsWith("env K3SMC_ACTION='remove' K3SMC_NODE_NAME='sh-server' K3SMC_TARGET_NODE='tokyo-1' bash -c '"));
        assert.ok(env.K3SMC_UNINSTALL_COMMAND.startsWith("env K3SMC_NODE_NAME='tokyo-1' K3SMC_ROLE='agent' bash -c '"));
        // Delete order is the reverse of dependencies: agents' removals run before the server's, after their installs.
        assert.ok(removal.dependencies.includes(cloud.named("tokyo-1-k3s-install").urn));
        assert.ok(removal.dependencies.includes(cloud.named("sh-server-k3s-removal").urn));
        const serverEnv = unwrap(cloud.named("sh-server-k3s-removal").inputs.environment) as Record<string, string>;
        assert.equal(serverEnv.K3SMC_DRAIN_COMMAND, undefined, "the only server is not drained through itself");
    });

    it("renders identical command text on a second evaluation with the same config", async () => {
        build();
        await cloud.settle();
        const first = cloud.ofType(TYPES.remoteCommand).map((c) => [c.name, JSON.stringify(c.inputs)]);
        cloud = await MockCloud.install({ fixture });
        build();
        await cloud.settle();
        const second = cloud.ofType(TYPES.remoteCommand).map((c) => [c.name, JSON.stringify(c.inputs)]);
        assert.deepEqual(second, first);
        assert.deepEqual(cloud.duplicateUrns(), []);
    });

    it("rejects IPVS with ServiceLB before registering anything", async () => {
        const swas = new AliyunLightweightServer("sh-server", { region: "cn-shanghai", planId: "p", imageId: "i" });
        assert.throws(
            () => new K3sServer("bad", { host: swas.host, k3sVersion: VERSION, options: { kubeProxyMode: "ipvs" } }),
            /^ConfigError: bad\.options\.kubeProxyMode = "ipvs": IPVS with ServiceLB enabled black-holes traffic between nodes/,
        );
        await cloud.settle();
        assert.equal(cloud.registrations.filter((r) => r.name.startsWith("bad")).length, 0);
    });
});

describe("kernel policy \"upgrade\" in the components (mocks)", () => {
    it("waits locally for a scheduled reboot, probes again over SSH, then installs", async () => {
        const bootId = "4f1c2d0e-0000-4000-8000-000000000001";
        const cloud = await MockCloud.install({
            fixture: { ...fixture, outputs: { ...fixture.outputs, "sh-server-k3s-prepare": { stdout: `k3s-multicloud [sh-server] installing linux-generic\n# reboot-scheduled ${bootId}\n` } } },
        });
        const swas = new AliyunLightweightServer("sh-server", { region: "cn-shanghai", planId: "p", imageId: "i" });
        new K3sServer("sh-server-k3s", { host: swas.host, k3sVersion: VERSION, options: { wireguardKernel: "upgrade" } });
        await cloud.settle();
        assert.ok((cloud.named("sh-server-k3s-prepare").inputs.create as string).includes(" K3SMC_KERNEL_POLICY='upgrade' "));
        const wait = cloud.named("sh-server-k3s-reboot-wait");
        assert.equal(wait.type, "command:local:Command");
        assert.equal(wait.inputs.create, "sleep 30");
        const reprobe = cloud.named("sh-server-k3s-reprobe");
        assert.ok((reprobe.inputs.create as string).startsWith(`env K3SMC_KUBE_PROXY_MODE='iptables' K3SMC_NODE_NAME='sh-server' K3SMC_PREVIOUS_BOOT_ID='${bootId}' bash -c '`));
        assert.ok(reprobe.dependencies.includes(wait.urn));
        assert.ok(cloud.named("sh-server-k3s-install").dependencies.includes(reprobe.urn));
        assert.ok(!cloud.named("sh-server-k3s-install").dependencies.includes(cloud.named("sh-server-k3s-prepare").urn));
    });
});
