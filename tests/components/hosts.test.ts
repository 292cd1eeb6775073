import { strict as assert } from "node:assert";
import { AliyunLightweightServer, ExistingServer, ExistingServerArgs, VultrServer } from "../../components";
import { FIRST_USE_HOST_KEY, MockCloud, SWAS_GET_INSTANCES, generatedKey, isSecretValue, plainStrings, resolve, unwrap } from "../harness/mockCloud";
import { HOST_KEY, SECRETS, SSH_PUBLIC_KEY, TYPES, assertConfigError, secret } from "../harness/fixtures";

const fixture = {
    swas: { "sh-server": { publicIp: "47.100.1.10", privateIp: "172.17.61.146" } },
    vultr: { "tokyo-1": { mainIp: "104.156.140.173" } },
};

function swas(name = "sh-server", extra: Partial<ConstructorParameters<typeof AliyunLightweightServer>[1]> = {}) {
    return new AliyunLightweightServer(name, {
        region: "cn-shanghai",
        planId: "swas.s2.c2m2s40b4t1",
        imageId: "image-ubuntu-2204",
        ...extra,
    } as ConstructorParameters<typeof AliyunLightweightServer>[1]);
}

function vultrServer(name = "tokyo-1", extra: Partial<ConstructorParameters<typeof VultrServer>[1]> = {}) {
    return new VultrServer(name, {
        region: "nrt",
        plan: "vc2-1c-2gb",
        osId: 2284,
        sshPublicKey: SSH_PUBLIC_KEY,
        sshPrivateKey: secret(SECRETS.vultrPrivateKey),
        ...extra,
    } as ConstructorParameters<typeof VultrServer>[1]);
}

describe("host components (mocks)", () => {
    let cloud: MockCloud;
    beforeEach(async () => {
        cloud = await MockCloud.install({ fixture });
    });

    describe("AliyunLightweightServer", () => {
        it("registers the SWAS instance with the exact prepaid inputs and protections", async () => {
            swas();
            await cloud.settle();
            const instance = cloud.named("sh-server-instance");
            assert.equal(instance.type, TYPES.swasInstance);
            assert.equal(instance.inputs.planId, "swas.s2.c2m2s40b4t1");
            assert.equal(instance.inputs.imageId, "image-ubuntu-2204");
            assert.equal(instance.inputs.period, 1);
            assert.equal(instance.inputs.paymentType, "Subscription");
            assert.equal(instance.inputs.status, "Resetting");
            assert.equal(instance.inputs.instanceName, "sh-server");
            assert.equal(instance.inputs.autoRenew, false);
            assert.equal(instance.retainOnDelete, true);
            // A changed image would reinstall the OS in place, a changed plan (a size lookup resolving to another id
            // when the catalogue changes) would resize a running server: both ignored unless asked for.
            assert.deepEqual(instance.ignoreChanges, ["status", "imageId", "planId"]);
            assert.deepEqual(instance.additionalSecretOutputs, ["password"]);
            assert.deepEqual(cloud.warnings, [
                "sh-server: Alibaba SWAS servers are prepaid. `pulumi destroy` does not release this server; it keeps running and billing until its 1-month term ends. Release it in the Alibaba Cloud console.",
                "sh-server: its SSH host key is trusted on first use: Alibaba SWAS offers this release no authenticated way to learn it, so the key the server first presents is recorded in state and every later session pins it.",
            ]);
        });

        it("sets the root password from the random generator as a secret", async () => {
            swas();
            await cloud.settle();
            const instance = cloud.named("sh-server-instance");
            assert.ok(isSecretValue(instance.inputs.password), "password input must be secret");
            assert.equal(unwrap(instance.inputs.password), "generated-password-for-sh-server-root-password");
            const password = cloud.named("sh-server-root-password");
            assert.equal(password.inputs.length, 24);
            assert.equal(password.inputs.overrideSpecial, "()~!@#$%^*-+=|{}[]:;<>,.?/");
        });

        it("creates a provider for its region and uses it for the instance", async () => {
            swas();
            await cloud.settle();
            const provider = cloud.named("sh-server-alicloud");
            assert.equal(provider.type, TYPES.alicloudProvider);
            assert.equal(provider.inputs.region, "cn-shanghai");
            assert.equal(cloud.named("sh-server-instance").provider, `${provider.urn}::sh-server-alicloud-id`);
        });

        it("reads the addresses with getInstances on the instance id", async () => {
            const server = swas();
            const [publicIp, privateIp] = await Promise.all([resolve(server.host.publicIp), resolve(server.host.privateIp)]);
            await cloud.settle();
            const lookups = cloud.calls.filter((c) => c.token === SWAS_GET_INSTANCES);
            assert.deepEqual(lookups.map((c) => c.inputs.ids), [["sh-server-instance-id"]]);
            assert.equal(publicIp.value, "47.100.1.10");
            assert.equal(privateIp.value, "172.17.61.146");
            assert.equal(server.host.behindNat, true);
            assert.equal(server.host.provider, "aliyun");
            assert.equal(server.host.location, "cn-shanghai");
            assert.equal(server.host.sudo, false);
            // SSH starts once the host key is known: the check waits for the instance and learns the key.
            assert.equal(server.host.ready, server.hostKeyCheck);
        });

        it("learns the host key on first contact, then pins it in every session (SWAS has no user-data)", async () => {
            const server = swas();
            const connection = await resolve(server.host.connection);
            await cloud.settle();
            const check = cloud.named("sh-server-host-key-check");
            assert.equal(check.type, "command:local:Command");
            assert.deepEqual(unwrap(check.inputs.environment), { K3SMC_NODE_NAME: "sh-server", K3SMC_HOST: "47.100.1.10", K3SMC_PORT: "22", K3SMC_WAIT_SECONDS: "600" });
            assert.deepEqual(check.inputs.triggers, ["sh-server-instance-id"], "a new machine is learned again");
            assert.ok(check.dependencies.includes(cloud.named("sh-server-instance").urn));
            assert.equal(connection.value!.hostKey, FIRST_USE_HOST_KEY);
        });

        it("learns the host key again after a reinstall that kept the instance id (hostKeyGeneration), rejoining as a new machine", async () => {
            const server = swas("sh-server", { hostKeyGeneration: 1 });
            const identity = await resolve(server.host.identity!);
            await cloud.settle();
            // A new trigger re-runs the key scan; the host's identity is what the k3s steps treat as the machine.
            assert.deepEqual(cloud.named("sh-server-host-key-check").inputs.triggers, ["sh-server-instance-id#reinstall-1"]);
            assert.equal(identity.value, "sh-server-instance-id#reinstall-1");
            assert.throws(
                () => swas("sh-b", { hostKeyGeneration: -1 }),
                { message: "AliyunLightweightServer(sh-b).hostKeyGeneration = -1: is not a whole number from 0 to 1000. Use 0 (default) and raise it by one after each reinstall that keeps the instance id." },
            );
        });

        it("logs in as root with the generated password over a secret connection", async () => {
            const server = swas();
            const connection = await resolve(server.host.connection);
            assert.equal(connection.secret, true);
            assert.deepEqual(connection.value, {
                host: "47.100.1.10",
                port: 22,
                user: "root",
                password: "generated-password-for-sh-server-root-password",
                hostKey: FIRST_USE_HOST_KEY,
                dialErrorLimit: 60,
                perDialTimeout: 15,
            });
        });

        it("lets an image change through only when asked, and renews with the term when auto-renew is on", async () => {
            swas("sh-a", { allowImageChange: true, allowPlanChange: true, autoRenew: true, period: 12 });
            await cloud.settle();
            const instance = cloud.named("sh-a-instance");
            assert.deepEqual(instance.ignoreChanges, ["status"]);
            assert.equal(instance.inputs.period, 12);
            assert.equal(instance.inputs.autoRenewPeriod, 12);
            assert.deepEqual(cloud.warnings, [
                "sh-a: Alibaba SWAS servers are prepaid. `pulumi destroy` does not release this server; it keeps running and billing until its 12-month term ends and renews automatically until you turn auto-renew off in the console. Release it in the Alibaba Cloud console.",
                "sh-a: its SSH host key is trusted on first use: Alibaba SWAS offers this release no authenticated way to learn it, so the key the server first presents is recorded in state and every later session pins it.",
            ]);
        });

        it("refuses a node name SWAS cannot take and a data disk that is not a multiple of 20 GiB", () => {
            assertConfigError(
                () => swas("x"),
                'AliyunLightweightServer(x).name = "x": is 1 characters long, and an Alibaba lightweight server\'s name has 2 to 50. Use a node name of 2 to 50 characters (set nodeName to keep a longer component name).',
            );
            assertConfigError(
                () => swas("sh-b", { nodeName: `n${"-x".repeat(30)}` }),
                `AliyunLightweightServer(sh-b).nodeName = "n${"-x".repeat(30)}": is 61 characters long, and an Alibaba lightweight server's name has 2 to 50. Use a node name of 2 to 50 characters (set nodeName to keep a longer component name).`,
            );
            assertConfigError(
                () => swas("sh-c", { dataDiskSize: 50 }),
                "AliyunLightweightServer(sh-c).dataDiskSize = 50: is not a multiple of 20 GiB, the step in which SWAS sells data disks. Use e.g. 60.",
            );
        });

        it("finds plan and image by lookup when no ids are given", async () => {
            new AliyunLightweightServer("sh-lookup", {
                region: "cn-hangzhou",
                planSize: { core: 2, memory: 2 },
                image: { nameRegex: "^Ubuntu-22.04" },
            });
            await cloud.settle();
            const instance = cloud.named("sh-lookup-instance");
            assert.equal(instance.inputs.planId, "swas.s2.c2m2s40b4t1");
            assert.equal(instance.inputs.imageId, "image-ubuntu-2204");
            const planCall = cloud.calls.find((c) => c.token.endsWith("getServerPlans"));
            assert.deepEqual(planCall?.inputs, { core: 2, memory: 2, platform: "Linux" });
            const imageCall = cloud.calls.find((c) => c.token.endsWith("getImages"));
            assert.deepEqual(imageCall?.inputs, { imageType: "system", platform: "Linux", nameRegex: "^Ubuntu-22.04" });
        });
    });

    describe("AliyunLightweightServer's deprecated plan (0.4 name of planSize)", () => {
        it("still looks the plan up by size, with a warning that names the new name", async () => {
            new AliyunLightweightServer("sh-old", { region: "cn-hangzhou", plan: { core: 2, memory: 2 }, imageId: "image-ubuntu-2204" });
            await cloud.settle();
            assert.equal(cloud.named("sh-old-instance").inputs.planId, "swas.s2.c2m2s40b4t1");
            assert.deepEqual(
                cloud.warnings.filter((w) => w.includes("deprecated")),
                ["AliyunLightweightServer(sh-old).plan is deprecated since 0.5.0: the same lookup is called planSize, as in the stack config. plan keeps working for now; rename it."],
            );
        });
    });

    describe("VultrServer", () => {
        it("registers the instance with a numeric osId, explicit backups and its key and firewall group", async () => {
            const server = vultrServer();
            const publicIp = await resolve(server.host.publicIp);
            await cloud.settle();
            const instance = cloud.named("tokyo-1-instance");
            assert.equal(instance.type, TYPES.vultrInstance);
            assert.equal(instance.inputs.osId, 2284);
            assert.equal(typeof instance.inputs.osId, "number");
            assert.equal(instance.inputs.backups, "disabled");
            assert.equal(instance.inputs.region, "nrt");
            assert.equal(instance.inputs.plan, "vc2-1c-2gb");
            assert.equal(instance.inputs.hostname, "tokyo-1");
            assert.equal(instance.inputs.enableIpv6, false);
            assert.deepEqual(instance.inputs.sshKeyIds, ["tokyo-1-ssh-key-id"]);
            assert.equal(instance.inputs.firewallGroupId, "tokyo-1-firewall-id");
            assert.equal(publicIp.value, "104.156.140.173");
            assert.equal((await resolve(server.host.privateIp)).value, "104.156.140.173");
            assert.equal(server.host.behindNat, false);
        });

        it("creates the SSH rule before the instance that attaches the group", async () => {
            vultrServer("tokyo-1", { sshAllowedCidrs: ["203.0.113.0/24", "198.51.100.7"] });
            await cloud.settle();
            const rules = cloud.ofType(TYPES.vultrFirewallRule);
            assert.deepEqual(
                rules.map((r) => [r.name, r.inputs.protocol, r.inputs.ipType, r.inputs.subnet, r.inputs.subnetSize, r.inputs.port]),
                [
                    ["tokyo-1-ssh-0", "tcp", "v4", "203.0.113.0", 24, "22"],
                    ["tokyo-1-ssh-1", "tcp", "v4", "198.51.100.7", 32, "22"],
                ],
            );
            const instance = cloud.named("tokyo-1-instance");
            for (const rule of rules) assert.ok(instance.dependencies.includes(rule.urn), `instance must depend on ${rule.name}`);
            assert.equal(cloud.named("tokyo-1-ssh-key").inputs.sshKey, SSH_PUBLIC_KEY);
        });

        it("looks an OS name up and passes its id as a number", async () => {
            vultrServer("osaka-1", { osId: undefined, osName: "Ubuntu 24.04 LTS x64" });
            await cloud.settle();
            assert.equal(cloud.named("osaka-1-instance").inputs.osId, 2284);
            const call = cloud.calls.find((c) => c.token === "vultr:index/getOs:getOs");
            assert.deepEqual(call?.inputs, { filters: [{ name: "name", values: ["Ubuntu 24.04 LTS x64"] }] });
        });

        it("uses the VPC address as the private IP when a VPC is attached", async () => {
            cloud = await MockCloud.install({ fixture: { vultr: { "vpc-1": { mainIp: "45.76.1.2", internalIp: "10.40.0.5" } } } });
            const server = vultrServer("vpc-1", { vpcIds: ["vpc-abc"] });
            assert.equal((await resolve(server.host.privateIp)).value, "10.40.0.5");
            assert.equal((await resolve(server.host.publicIp)).value, "45.76.1.2");
        });

        it("connects as root with the private key, pinning the host key it generated, secret", async () => {
            const server = vultrServer();
            const connection = await resolve(server.host.connection);
            assert.equal(connection.secret, true);
            const generated = generatedKey("tokyo-1-ssh-host-key").publicKey.trim();
            assert.deepEqual(connection.value, {
                host: "104.156.140.173",
                port: 22,
                user: "root",
                privateKey: SECRETS.vultrPrivateKey,
                hostKey: generated,
                dialErrorLimit: 60,
                perDialTimeout: 15,
            });
        });

        it("installs a generated host key through secret user-data, checks it before any session, never replaces for it", async () => {
            const server = vultrServer();
            await cloud.settle();
            const key = cloud.named("tokyo-1-ssh-host-key");
            assert.deepEqual([key.type, key.inputs.algorithm], ["tls:index/privateKey:PrivateKey", "ED25519"]);
            const instance = cloud.named("tokyo-1-instance");
            assert.ok(isSecretValue(instance.inputs.userData), "user-data carries the private key: secret");
            const { privateKey, publicKey } = generatedKey("tokyo-1-ssh-host-key");
            assert.equal(
                unwrap(instance.inputs.userData),
                [
                    "#cloud-config",
                    "# k3s-multicloud: the SSH host key every step pins (generated in the stack, secret).",
                    "ssh_deletekeys: true",
                    "ssh_genkeytypes: []",
                    "ssh_keys:",
                    "  ed25519_private: |",
                    ...privateKey.trim().split("\n").map((line) => `    ${line}`),
                    `  ed25519_public: ${publicKey.trim()}`,
                    "",
                ].join("\n"),
            );
            // A server created before keeps its user-data: changing it would replace the server.
            assert.deepEqual(instance.ignoreChanges, ["userData"]);
            const check = cloud.named("tokyo-1-host-key-check");
            assert.deepEqual(unwrap(check.inputs.environment), {
                K3SMC_NODE_NAME: "tokyo-1",
                K3SMC_HOST: "104.156.140.173",
                K3SMC_PORT: "22",
                K3SMC_WAIT_SECONDS: "600",
                K3SMC_EXPECTED_HOST_KEY: publicKey.trim(),
            });
            assert.equal(server.host.ready, server.hostKeyCheck, "no SSH session before the key is checked");
            assert.deepEqual(cloud.warnings.filter((w) => w.includes("trusted on first use")), []);
        });

        it("trusts a server created before this release on first use, says so, and pins what it recorded", async () => {
            const presented = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9sZC12dWx0ci1zZXJ2ZXItaG9zdC1rZXktMDAwMDE=";
            // Its state: no user-data (the input is ignored after create), so the generated key is not on it.
            cloud = await MockCloud.install({ fixture: { ...fixture, outputs: { "tokyo-1-instance": { userData: "" } }, hostKeys: { "104.156.140.173": presented } } });
            const server = vultrServer();
            const connection = await resolve(server.host.connection);
            await cloud.settle();
            assert.equal(unwrap(cloud.named("tokyo-1-host-key-check").inputs.environment).K3SMC_EXPECTED_HOST_KEY, undefined);
            assert.equal(connection.value!.hostKey, presented);
            assert.deepEqual(cloud.warnings.filter((w) => w.includes("trusted on first use")), [
                "tokyo-1: its SSH host key is trusted on first use: the server was created before k3s-multicloud installed a generated host key through user-data (changing it would replace the server), so the key it presents now is recorded in state and pinned from then on.",
            ]);
        });
    });

    describe("ExistingServer", () => {
        it("requires a pinned host key, or an explicit insecureIgnoreHostKey that every preview warns about", async () => {
            assertConfigError(
                // A JavaScript caller, or TypeScript with a cast: the types require a host-key choice.
                () => new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", privateKey: secret(SECRETS.existingPrivateKey) } as unknown as ExistingServerArgs),
                "ExistingServer(home-1).hostKey = (not set): is required: without it SSH trusts whatever answers at 203.0.113.10:22, which then receives the SSH credentials, the join token and every command. Set it to the server's host public key (on the server: cat /etc/ssh/ssh_host_ed25519_key.pub; or ssh-keyscan -t ed25519 from a network you trust), or set insecureIgnoreHostKey: true to accept the risk.",
            );
            assertConfigError(
                () => new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", privateKey: secret(SECRETS.existingPrivateKey), hostKey: "AAAAC3NzaC1lZDI1NTE5" }),
                'ExistingServer(home-1).hostKey = "AAAAC3NzaC1lZDI1NTE5": is not an SSH public key. Give the line of /etc/ssh/ssh_host_ed25519_key.pub, e.g. "ssh-ed25519 AAAAC3Nza...".',
            );
            const insecure = new ExistingServer("home-2", { publicIp: "203.0.113.11", location: "home", privateKey: secret(SECRETS.existingPrivateKey), insecureIgnoreHostKey: true });
            const connection = await resolve(insecure.host.connection);
            assert.equal(connection.value!.hostKey, undefined);
            assert.deepEqual(cloud.warnings, [
                "home-2: SSH to this existing server does not check its host key (insecureIgnoreHostKey): whoever answers at its address receives the SSH credentials, the join token and every command. Set hostKey to pin it.",
            ]);
            // A key copied with its comment is pinned without it, as OpenSSH's known_hosts and the provider expect.
            const commented = new ExistingServer("home-3", { publicIp: "203.0.113.12", location: "home", privateKey: secret(SECRETS.existingPrivateKey), hostKey: `${HOST_KEY} root@home-3\n` });
            assert.equal((await resolve(commented.host.connection)).value!.hostKey, HOST_KEY);
        });

        it("takes the given addresses and derives NAT from them", async () => {
            const natted = new ExistingServer("home-1", {
                publicIp: "203.0.113.10",
                privateIp: "192.168.1.20",
                location: "home-lab",
                privateKey: secret(SECRETS.existingPrivateKey),
                hostKey: HOST_KEY,
            });
            const direct = new ExistingServer("colo-1", {
                publicIp: "203.0.113.11",
                location: "colo",
                password: secret(SECRETS.existingPassword),
                hostKey: HOST_KEY,
            });
            assert.equal(natted.host.behindNat, true);
            assert.equal(direct.host.behindNat, false);
            assert.equal((await resolve(natted.host.publicIp)).value, "203.0.113.10");
            assert.equal((await resolve(natted.host.privateIp)).value, "192.168.1.20");
            assert.equal((await resolve(direct.host.privateIp)).value, "203.0.113.11");
            assert.equal(natted.host.firewall.kind, "none");
            await cloud.settle();
            assert.deepEqual(
                cloud.registrations.map((r) => r.type),
                ["k3s-multicloud:hosts:ExistingServer", "k3s-multicloud:hosts:ExistingServer"],
            );
        });

        it("runs through sudo for a non-root user, pins the host key and keeps the port", async () => {
            const server = new ExistingServer("pi-1", {
                publicIp: "203.0.113.12",
                location: "home-lab",
                user: "ubuntu",
                port: 2222,
                hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedHostKey",
                privateKey: secret(SECRETS.existingPrivateKey),
            });
            assert.equal(server.host.sudo, true);
            const connection = await resolve(server.host.connection);
            assert.equal(connection.secret, true);
            assert.deepEqual(connection.value, {
                host: "203.0.113.12",
                port: 2222,
                user: "ubuntu",
                privateKey: SECRETS.existingPrivateKey,
                hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedHostKey",
                dialErrorLimit: 60,
                perDialTimeout: 15,
            });
        });
    });

    describe("all hosts together", () => {
        function twoOfEach() {
            return [
                swas("sh-1"),
                swas("sh-2"),
                vultrServer("tokyo-1"),
                vultrServer("tokyo-2"),
                new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", privateKey: secret(SECRETS.existingPrivateKey), hostKey: HOST_KEY }),
                new ExistingServer("home-2", { publicIp: "203.0.113.11", location: "home", password: secret(SECRETS.existingPassword), hostKey: HOST_KEY }),
            ];
        }

        it("parents every child to its component and names it after the component", async () => {
            twoOfEach();
            await cloud.settle();
            const components = cloud.registrations.filter((r) => r.type.startsWith("k3s-multicloud:hosts:"));
            assert.equal(components.length, 6);
            const children = cloud.registrations.filter((r) => !r.type.startsWith("k3s-multicloud:hosts:"));
            // SWAS: provider, root password, instance, host-key check. Vultr: host key, SSH key, firewall group, SSH
            // rule, instance, host-key check.
            assert.equal(children.length, 2 * 4 + 2 * 6);
            for (const child of children) {
                const parent = components.find((c) => c.urn === child.parent);
                assert.ok(parent, `${child.name} must be parented to a host component`);
                assert.ok(child.name.startsWith(`${parent.name}-`), `${child.name} must be named ${parent.name}-...`);
            }
        });

        it("registers unique URNs", async () => {
            twoOfEach();
            await cloud.settle();
            assert.deepEqual(cloud.duplicateUrns(), []);
        });

        it("puts no password or private key into any plain input", async () => {
            const hosts = twoOfEach();
            const generated = await Promise.all(
                hosts.filter((h): h is AliyunLightweightServer => h instanceof AliyunLightweightServer).map((h) => resolve(h.rootPassword)),
            );
            await cloud.settle();
            const forbidden = [SECRETS.vultrPrivateKey, SECRETS.existingPrivateKey, SECRETS.existingPassword, ...generated.map((g) => g.value as string)];
            assert.equal(forbidden.length, 5);
            for (const registration of cloud.registrations) {
                for (const { path, value } of plainStrings(registration.inputs)) {
                    for (const secretValue of forbidden) {
                        assert.ok(!value.includes(secretValue), `${registration.name}.${path} carries a secret in plain text`);
                    }
                }
            }
            for (const h of hosts) assert.equal((await resolve(h.host.connection)).secret, true, `${h.host.name} connection`);
        });
    });
});
