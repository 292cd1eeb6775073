import { strict as assert } from "node:assert";
import { AliyunLightweightServer, ExistingServer, K3sAgent, K3sServer, VultrServer } from "../../components";
import { MockCloud, TEST_CA_HASH, isSecretValue, plainStrings, resolve, unwrap } from "../harness/mockCloud";
import { HOST_KEY, K3S_YAML, SECRETS, SSH_PUBLIC_KEY, TYPES, secret } from "../harness/fixtures";
import { relayCommand, shippedToolkit } from "../../components/toolkit/bundle";
import { nodeFingerprint, shellQuote } from "../../components/toolkit/contract";
import { DEFAULT_CHINA_REGISTRY_MIRRORS, renderRegistries } from "../../components/k3s/registries";

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
        hostKey: HOST_KEY,
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

    it("registers prepare and install steps per node: short toolkit calls carrying the rendered config", async () => {
        const { server } = build();
        const config = await resolve(server.configYaml);
        await cloud.settle();
        const install = cloud.named("sh-server-k3s-install");
        assert.equal(install.type, TYPES.remoteCommand);
        // The whole command: one toolkit call whose arguments are the data (mainland SWAS installs from the China mirror).
        assert.equal(
            install.inputs.create,
            `/opt/k3s-multicloud/bin/k3smc v1 install --node-name sh-server --role server --version v1.33.6+k3s1 --mirror cn --ready-timeout 300 --registries ${shellQuote(renderRegistries(DEFAULT_CHINA_REGISTRY_MIRRORS))} --config ${shellQuote(config.value!)}`,
        );
        assert.ok(config.value!.includes("node-external-ip: 47.100.1.10\nflannel-backend: wireguard-native\nflannel-external-ip: true\n"));
        assert.equal(install.inputs.delete, undefined, "uninstall belongs to the removal step");
        assert.equal(install.inputs.addPreviousOutputInEnv, false, "no previous output travels back to the host");
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
        assert.equal(commands.length, 4 * 2 + 2, "prepare and install per node, the server's kubeconfig and ca-hash");
        for (const registration of cloud.registrations) {
            for (const { path, value } of plainStrings(registration.inputs)) {
                assert.ok(!value.includes(token), `${registration.name}.${path} carries the token`);
            }
        }
        const installs = commands.filter((c) => c.name.endsWith("-install"));
        assert.equal(installs.length, 4);
        const agentToken = (await resolve(server.agentToken)).value!;
        for (const install of installs) {
            assert.ok(isSecretValue(install.inputs.stdin), `${install.name} stdin must be secret`);
            // The server gets both tokens; agents only the agent token, in secure format: they check the server's CA
            // (its hash, printed by the server's install) before they send it.
            assert.equal(
                unwrap(install.inputs.stdin),
                install.name.startsWith("sh-server") ? `${token}\n${agentToken}\n` : `K10${TEST_CA_HASH}::node:${agentToken}\n`,
                install.name,
            );
        }
        // Least privilege: nothing an agent is given carries the server token, secret or not.
        for (const registration of cloud.registrations.filter((r) => /^(tokyo|home)-/.test(r.name))) {
            assert.ok(!JSON.stringify(registration.inputs).includes(token), `${registration.name} carries the server token`);
        }
        assert.notEqual(agentToken, token);
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
        // Added in 0.2.1, so existing clusters read it once more and get a certificate that lasts as long as their CA.
        assert.deepEqual(read.inputs.triggers, ["admin client certificate valid until the cluster's client CA expires"]);
        // A named identity bound to cluster-admin, generation 1 unless raised (raising it re-runs this step).
        assert.equal(read.inputs.create, "/opt/k3s-multicloud/bin/k3smc v1 kubeconfig --node-name sh-server --credential-generation 1");
    });

    it("repeats the kubeconfig step's warnings where `pulumi up` shows them, and nothing else of its secret stderr", async () => {
        const warning = "k3s-multicloud [sh-server] WARNING: no openssl or no client CA in /var/lib/rancher/k3s/server/tls: the kubeconfig keeps k3s' own client certificate, which expires a year after it was issued.";
        cloud = await MockCloud.install({
            fixture: { ...fixture, outputs: { "sh-server-k3s-kubeconfig": { stdout: K3S_YAML, stderr: `${warning}\nk3s-multicloud [sh-server] kubeconfig: a new admin client certificate, valid until Nov 28 14:40:03 2036 GMT\n` } } },
        });
        build();
        await cloud.settle();
        assert.deepEqual(cloud.warnings.filter((w) => w.includes("kubeconfig") || w.includes("client certificate")), [warning]);
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
            // Explicit: own prepare and the server's install. Through its inputs: the addresses in its config (own
            // host, server host), the agent token (never the server token) and the CA hash the server's ca-hash step
            // read. Not its upgrade step: that one runs after the install.
            const expected = [
                prepare.urn,
                serverInstall.urn,
                cloud.named("sh-server-instance").urn,
                cloud.named("sh-server-k3s-agent-token").urn,
                cloud.named("sh-server-k3s-ca-hash").urn,
            ];
            // A Vultr host's connection pins the key its host-key check learned.
            if (host !== "home-1") expected.push(cloud.named(`${host}-instance`).urn, cloud.named(`${host}-host-key-check`).urn);
            assert.deepEqual([...install.dependencies].sort(), expected.sort(), agent);
            for (const other of agentNames.filter((a) => a !== agent)) {
                for (const dep of install.dependencies) assert.ok(!dep.includes(other), `${agent} depends on ${other}`);
            }
        }
        // Agents' prepare steps wait only for their own host - its host-key check (which waited for the instance),
        // and its instance id through their trigger - so they run while the server installs.
        const tokyoPrepare = cloud.named("tokyo-1-k3s-prepare");
        assert.deepEqual([...tokyoPrepare.dependencies].sort(), [cloud.named("tokyo-1-host-key-check").urn, cloud.named("tokyo-1-instance").urn].sort());
        assert.deepEqual(tokyoPrepare.inputs.triggers, ["tokyo-1-instance-id"], "a new machine under the same name gets the toolkit again");
    });

    it("joins agents to the server's public IP and advertises each agent's own public IP", async () => {
        const { agents } = build();
        const [tokyo, , home] = await Promise.all(agents.map((a) => resolve(a.configYaml)));
        assert.match(tokyo.value!, /^server: https:\/\/47\.100\.1\.10:6443\n/m);
        assert.match(tokyo.value!, /^node-ip: 104\.156\.140\.173\nnode-external-ip: 104\.156\.140\.173\n/m);
        assert.match(home.value!, /^node-ip: 192\.168\.1\.20\nnode-external-ip: 203\.0\.113\.10\n/m);
        await cloud.settle();
        assert.ok((cloud.named("tokyo-1-k3s-install").inputs.create as string).startsWith(
            "/opt/k3s-multicloud/bin/k3smc v1 install --node-name tokyo-1 --role agent --version v1.33.6+k3s1 --mirror github --ready-timeout 300 --config '",
        ));
    });

    it("runs every step on a non-root host through sudo -n", async () => {
        build();
        await cloud.settle();
        assert.ok((cloud.named("home-1-k3s-prepare").inputs.create as string).startsWith("sudo -n sh -c 'set -eu\n"));
        assert.ok((cloud.named("home-1-k3s-install").inputs.create as string).startsWith("sudo -n /opt/k3s-multicloud/bin/k3smc v1 install --node-name home-1 "));
        for (const step of ["prepare", "install"]) {
            assert.ok(!(cloud.named(`tokyo-1-k3s-${step}`).inputs.create as string).startsWith("sudo"), step);
        }
        const removal = cloud.named("home-1-k3s-removal").inputs.environment as Record<string, unknown>;
        assert.equal(removal.K3SMC_UNINSTALL_COMMAND, "sudo -n /opt/k3s-multicloud/bin/k3smc v1 uninstall --node-name home-1 --role agent");
    });

    it("delivers the toolkit in the prepare step: its id and sha256 in the command, the bundle on stdin", async () => {
        build();
        await cloud.settle();
        const bundle = shippedToolkit();
        const prepare = cloud.named("tokyo-1-k3s-prepare");
        const create = prepare.inputs.create as string;
        assert.ok(create.startsWith("sh -c 'set -eu\numask 022\ntop=/opt/k3s-multicloud id=$1 sum=$2\n"), create.slice(0, 60));
        assert.ok(
            create.endsWith(`' k3smc-deliver ${bundle.id} ${bundle.sha256} v1 prepare --node-name tokyo-1 --kube-proxy-mode iptables`),
            create.slice(-160),
        );
        assert.equal(prepare.inputs.stdin, bundle.payload);
        assert.equal(prepare.inputs.addPreviousOutputInEnv, false);
    });

    it("stores everything the removal needs with it: connections (secret), the drain and uninstall calls, the relay", async () => {
        build();
        await cloud.settle();
        const removal = cloud.named("tokyo-1-k3s-removal");
        assert.equal(removal.type, "command:local:Command");
        assert.equal(removal.inputs.create, "true");
        assert.equal(removal.inputs.delete, relayCommand("remove"));
        assert.ok((removal.inputs.delete as string).startsWith("bash --norc -c '"));
        assert.ok((removal.inputs.delete as string).endsWith("' k3smc-relay remove"));
        const env = removal.inputs.environment as Record<string, unknown>;
        const secretKeys = Object.keys(env).filter((k) => isSecretValue(env[k])).sort();
        assert.deepEqual(secretKeys, [
            "K3SMC_NODE_HOST",
            "K3SMC_NODE_HOST_KEY",
            "K3SMC_NODE_KEY",
            "K3SMC_NODE_PASSWORD",
            "K3SMC_NODE_PORT",
            "K3SMC_NODE_USER",
            "K3SMC_SERVER_HOST",
            "K3SMC_SERVER_HOST_KEY",
            "K3SMC_SERVER_KEY",
            "K3SMC_SERVER_PASSWORD",
            "K3SMC_SERVER_PORT",
            "K3SMC_SERVER_USER",
        ]);
        // The data a reviewer may see stays plain: names and toolkit calls.
        assert.deepEqual(
            Object.fromEntries(Object.keys(env).filter((k) => !secretKeys.includes(k)).sort().map((k) => [k, env[k]])),
            {
                K3SMC_DRAIN_COMMAND: "/opt/k3s-multicloud/bin/k3smc v1 drain --node-name sh-server --target-node tokyo-1 --action remove",
                K3SMC_NODE_NAME: "tokyo-1",
                K3SMC_UNINSTALL_COMMAND: "/opt/k3s-multicloud/bin/k3smc v1 uninstall --node-name tokyo-1 --role agent",
            },
        );
        const plain = Object.fromEntries(secretKeys.map((k) => [k, unwrap(env[k])]));
        assert.deepEqual(
            [plain.K3SMC_NODE_HOST, plain.K3SMC_NODE_PORT, plain.K3SMC_NODE_USER, plain.K3SMC_NODE_KEY, plain.K3SMC_NODE_PASSWORD],
            ["104.156.140.173", "22", "root", SECRETS.vultrPrivateKey, ""],
        );
        assert.deepEqual(
            [plain.K3SMC_SERVER_HOST, plain.K3SMC_SERVER_USER, plain.K3SMC_SERVER_PASSWORD, plain.K3SMC_SERVER_KEY],
            ["47.100.1.10", "root", "generated-password-for-sh-server-root-password", ""],
        );
        // Delete order is the reverse of dependencies: agents' removals run before the server's, after their upgrades.
        assert.ok(removal.dependencies.includes(cloud.named("tokyo-1-k3s-upgrade").urn));
        assert.ok(removal.dependencies.includes(cloud.named("sh-server-k3s-removal").urn));
        const serverEnv = cloud.named("sh-server-k3s-removal").inputs.environment as Record<string, unknown>;
        assert.equal(serverEnv.K3SMC_DRAIN_COMMAND, undefined, "the only server is not drained through itself");
    });

    it("gives the upgrade step fingerprints and toolkit calls, never the config text or the token", async () => {
        const { agents, server } = build();
        const config = (await resolve(agents[0].configYaml)).value!;
        const token = (await resolve(server.token)).value!;
        await cloud.settle();
        const upgrade = cloud.named("tokyo-1-k3s-upgrade");
        assert.equal(upgrade.inputs.create, "true");
        assert.equal(upgrade.inputs.update, relayCommand("upgrade"));
        const env = upgrade.inputs.environment as Record<string, unknown>;
        const fingerprint = nodeFingerprint(VERSION, config);
        assert.deepEqual(
            Object.fromEntries(Object.keys(env).filter((k) => !isSecretValue(env[k])).sort().map((k) => [k, env[k]])),
            {
                K3SMC_APPLY_COMMAND: `/opt/k3s-multicloud/bin/k3smc v1 apply --node-name tokyo-1 --role agent --fingerprint ${fingerprint} --ready-timeout 300`,
                K3SMC_DRAIN_COMMAND: "/opt/k3s-multicloud/bin/k3smc v1 drain --node-name sh-server --target-node tokyo-1 --action drain",
                K3SMC_FINGERPRINT: fingerprint,
                K3SMC_FINGERPRINT_COMMAND: "/opt/k3s-multicloud/bin/k3smc v1 fingerprint --node-name tokyo-1",
                K3SMC_NODE_NAME: "tokyo-1",
                K3SMC_UNCORDON_COMMAND: "/opt/k3s-multicloud/bin/k3smc v1 drain --node-name sh-server --target-node tokyo-1 --action uncordon",
                K3SMC_VERSION: VERSION,
            },
        );
        const stored = JSON.stringify(upgrade.inputs);
        assert.ok(!stored.includes(token), "the upgrade step holds no token");
        assert.ok(!stored.includes("node-external-ip"), "the upgrade step holds no config text");
        // It runs after the node's install (which stages a change) and after the server's upgrade.
        assert.ok(upgrade.dependencies.includes(cloud.named("tokyo-1-k3s-install").urn));
        assert.ok(upgrade.dependencies.includes(cloud.named("sh-server-k3s-upgrade").urn));
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
        assert.ok((cloud.named("sh-server-k3s-prepare").inputs.create as string).endsWith(" v1 prepare --node-name sh-server --kube-proxy-mode iptables --kernel-policy upgrade"));
        const wait = cloud.named("sh-server-k3s-reboot-wait");
        assert.equal(wait.type, "command:local:Command");
        assert.equal(wait.inputs.create, "sleep 30");
        const reprobe = cloud.named("sh-server-k3s-reprobe");
        assert.equal(reprobe.inputs.create, `/opt/k3s-multicloud/bin/k3smc v1 prepare --node-name sh-server --kube-proxy-mode iptables --previous-boot-id ${bootId}`);
        assert.ok(reprobe.dependencies.includes(wait.urn));
        assert.ok(cloud.named("sh-server-k3s-install").dependencies.includes(reprobe.urn));
        assert.ok(!cloud.named("sh-server-k3s-install").dependencies.includes(cloud.named("sh-server-k3s-prepare").urn));
    });
});
