import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NUMBER_BOUNDS } from "../../components/validation/numbers";
import { ExistingServer, K3sCluster, K3sServer, VultrServer } from "../../components";
import { vultrGroupTooSmall } from "../../components/k3s/k3sCluster";
import { sharedPublicAddress } from "../../components/k3s/clusterValidation";
import { FIRST_USE_HOST_KEY, MockCloud, isSecretValue, plainStrings, resolve } from "../harness/mockCloud";
import { ADDRESSES, buildCluster, clusterCloudFixture } from "../harness/clusterFixture";
import { HOST_KEY, SECRETS, SSH_PUBLIC_KEY, TYPES, assertConfigError, secret } from "../harness/fixtures";

describe("K3sCluster (mocks): one SWAS server, one Vultr agent, one existing agent", () => {
    let cloud: MockCloud;
    beforeEach(async () => {
        cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
    });

    it("opens the SWAS server's ports (no source filter possible, ranges with a slash)", async () => {
        buildCluster();
        await cloud.settle();
        const rules = cloud.ofType(TYPES.swasFirewallRule).map((r) => [r.name, r.inputs.instanceId, r.inputs.ruleProtocol, r.inputs.port]);
        assert.deepEqual(rules.sort(), [
            ["dev-sh-server-fw-tcp-10250", "sh-server-instance-id", "Tcp", "10250/10250"],
            ["dev-sh-server-fw-tcp-6443", "sh-server-instance-id", "Tcp", "6443/6443"],
            ["dev-sh-server-fw-udp-51820", "sh-server-instance-id", "Udp", "51820/51821"],
        ]);
        // A rule stored by 0.3.0 holds "6443": with `port` ignored the engine keeps the stored value, so such a stack
        // previews no replacement (a changed `port` would replace the rule and reopen the port for a moment).
        for (const rule of cloud.ofType(TYPES.swasFirewallRule)) assert.deepEqual(rule.ignoreChanges, ["port"], rule.name);
        for (const rule of cloud.ofType(TYPES.swasFirewallRule)) {
            assert.equal(rule.provider, `${cloud.named("sh-server-alicloud").urn}::sh-server-alicloud-id`, "the SWAS region's provider");
        }
    });

    it("opens the Vultr agent's ports to each other node's public IP (ranges with a colon)", async () => {
        buildCluster();
        await cloud.settle();
        const rules = cloud
            .ofType(TYPES.vultrFirewallRule)
            .filter((r) => r.name.startsWith("dev-"))
            .map((r) => [r.name, r.inputs.firewallGroupId, r.inputs.protocol, r.inputs.port, r.inputs.subnet, r.inputs.subnetSize, r.inputs.ipType]);
        assert.deepEqual(rules.sort(), [
            ["dev-tokyo-1-fw-tcp-10250-home-1", "tokyo-1-firewall-id", "tcp", "10250", "203.0.113.10", 32, "v4"],
            ["dev-tokyo-1-fw-tcp-10250-sh-server", "tokyo-1-firewall-id", "tcp", "10250", "47.100.1.10", 32, "v4"],
            ["dev-tokyo-1-fw-udp-51820-home-1", "tokyo-1-firewall-id", "udp", "51820:51821", "203.0.113.10", 32, "v4"],
            ["dev-tokyo-1-fw-udp-51820-sh-server", "tokyo-1-firewall-id", "udp", "51820:51821", "47.100.1.10", 32, "v4"],
        ]);
    });

    it("installs the server, then every agent joining the server's public IP, after the firewall rules", async () => {
        const { cluster } = buildCluster();
        const configs = await Promise.all(cluster.agents.map((a) => resolve(a.configYaml)));
        for (const config of configs) assert.match(config.value!, /^server: https:\/\/47\.100\.1\.10:6443$/m);
        await cloud.settle();
        const agentInstall = cloud.named("dev-tokyo-1-install");
        for (const rule of cloud.ofType(TYPES.vultrFirewallRule).filter((r) => r.name.startsWith("dev-tokyo-1-fw"))) {
            assert.ok(agentInstall.dependencies.includes(rule.urn), `install waits for ${rule.name}`);
        }
        for (const rule of cloud.ofType(TYPES.swasFirewallRule)) {
            assert.ok(agentInstall.dependencies.includes(rule.urn), `the agent waits for the server's ${rule.name}`);
            assert.ok(cloud.named("dev-sh-server-install").dependencies.includes(rule.urn));
        }
        assert.ok(agentInstall.dependencies.includes(cloud.named("dev-sh-server-install").urn));
        assert.ok(!cloud.named("dev-home-1-install").dependencies.includes(agentInstall.urn), "agents do not wait for each other");
    });

    it("programs a host firewall on every node from one member list, the server's before any agent joins", async () => {
        buildCluster({ apiAllowedCidrs: ["198.51.100.0/24"] });
        await cloud.settle();
        const members = "sh-server=47.100.1.10/172.17.61.146,tokyo-1=104.156.140.173,home-1=203.0.113.10/192.168.1.20";
        assert.equal(
            cloud.named("dev-sh-server-host-firewall").inputs.create,
            `/opt/k3s-multicloud/bin/k3smc v1 firewall --node-name sh-server --role server --members ${members} --servers sh-server --api-allowed 198.51.100.0/24 --cluster-cidrs 10.42.0.0/16,10.43.0.0/16 --step-revision 2`,
        );
        assert.equal(
            cloud.named("dev-home-1-host-firewall").inputs.create,
            `sudo -n /opt/k3s-multicloud/bin/k3smc v1 firewall --node-name home-1 --role agent --members ${members} --servers sh-server --api-allowed 198.51.100.0/24 --cluster-cidrs 10.42.0.0/16,10.43.0.0/16 --step-revision 2`,
        );
        const serverFirewall = cloud.named("dev-sh-server-host-firewall");
        assert.ok(serverFirewall.dependencies.includes(cloud.named("dev-sh-server-prepare").urn), "after the toolkit is there");
        for (const agent of ["tokyo-1", "home-1"]) {
            assert.ok(cloud.named(`dev-${agent}-install`).dependencies.includes(serverFirewall.urn), `${agent} joins after the server's host firewall`);
            assert.ok(cloud.named("dev-mesh-ready").dependencies.includes(cloud.named(`dev-${agent}-host-firewall`).urn));
        }
    });

    it("rotates the admin credential on every server when adminCredentialGeneration is raised, and refuses 0", async () => {
        buildCluster({ adminCredentialGeneration: 3 });
        await cloud.settle();
        assert.equal(cloud.named("dev-sh-server-kubeconfig").inputs.create, "/opt/k3s-multicloud/bin/k3smc v1 kubeconfig --node-name sh-server --credential-generation 3");
        assert.throws(
            () => buildCluster({ adminCredentialGeneration: 0 }),
            { message: "K3sCluster(dev).adminCredentialGeneration = 0: is not a whole number from 1 to 1000. Use 1 (default) and raise it by one to revoke the admin kubeconfig and issue a new one." },
        );
    });

    it("lets pods reach the instance metadata service only when asked (podMetadataAccess), and says so to the host", async () => {
        buildCluster({ podMetadataAccess: true });
        await cloud.settle();
        assert.match(cloud.named("dev-tokyo-1-host-firewall").inputs.create as string, / --cluster-cidrs 10\.42\.0\.0\/16,10\.43\.0\.0\/16 --pod-metadata allow --step-revision 2$/);
    });

    it("warns that kube-proxy's ipvs mode is deprecated upstream from Kubernetes 1.35, naming nftables mode", async () => {
        const ipvs = { disable: ["traefik", "servicelb"], kubeProxyMode: "ipvs" as const };
        buildCluster({ k3sVersion: "v1.34.2+k3s1", options: ipvs });
        await cloud.settle();
        assert.equal(cloud.warnings.filter((w) => w.includes("KEP-5495")).length, 0, "1.34 is quiet");
        cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
        buildCluster({ k3sVersion: "v1.35.0+k3s1", options: ipvs });
        await cloud.settle();
        assert.deepEqual(cloud.warnings.filter((w) => w.includes("KEP-5495")), [
            "dev: kube-proxy's ipvs mode is deprecated upstream from Kubernetes 1.35 (KEP-5495) and will be removed; its replacement is nftables mode (kube-proxy-arg proxy-mode=nftables). k3s v1.35.0+k3s1 still runs ipvs.",
        ]);
    });

    it("says in every preview what anyone on the internet can reach", async () => {
        buildCluster({ hostFirewall: false });
        await cloud.settle();
        assert.deepEqual(cloud.warnings.filter((w) => !w.includes("prepaid")).sort(), [
            'dev: `kubectl top` cannot reach sh-server, home-1: k3s\' packaged metrics-server dials each node\'s InternalIP, a private address behind NAT. Set the cluster option metricsServer: "external-ip" to deploy one that dials public addresses (the servers restart k3s once to disable the packaged one).',
            "dev: hostFirewall is off and SWAS cloud rules made through Pulumi cannot filter by source (the SWAS API can; the provider's FirewallRule has no field for it), so k3s' ports (6443, 10250, 51820-51821) on sh-server are open to the whole internet.",
            "dev: the Kubernetes API (6443/tcp on the servers) accepts connections from anywhere (apiAllowedCidrs 0.0.0.0/0); it still requires credentials. Set apiAllowedCidrs to where kubectl and pulumi run from.",
            "sh-server: its SSH host key is trusted on first use: Alibaba SWAS offers this release no authenticated way to learn it, so the key the server first presents is recorded in state and every later session pins it.",
            "tokyo-1: SSH (22/tcp) is open to the whole internet (sshAllowedCidrs 0.0.0.0/0); narrow it to where you administer from.",
        ]);
    });

    it("tells the server each joining node's machine, so a replaced one is forgotten there before it joins again", async () => {
        buildCluster();
        await cloud.settle();
        const serverInstall = cloud.named("dev-sh-server-install");
        // The Vultr agent by its instance id, the existing server by its address (what identifies it as a machine).
        assert.equal(
            (serverInstall.inputs.create as string).split(" --registries ")[0],
            "/opt/k3s-multicloud/bin/k3smc v1 install --node-name sh-server --role server --version v1.33.6+k3s1 --mirror cn --ready-timeout 300 --node-identities tokyo-1=tokyo-1-instance-id,home-1=203.0.113.10",
        );
        // A new machine changes the server's install step, which every agent's install waits for.
        for (const agent of ["dev-tokyo-1-install", "dev-home-1-install"]) assert.ok(cloud.named(agent).dependencies.includes(serverInstall.urn), agent);
        assert.doesNotMatch(cloud.named("dev-tokyo-1-install").inputs.create as string, /--node-identities/);
    });

    it("gives mainland nodes mirrors for the k3s system images (registries.yaml in their install step), and only them", async () => {
        buildCluster({ options: { disable: ["traefik"], chinaRegistryMirrors: ["https://mirror-a.example.cn", "https://mirror-b.example.cn/v2-proxy"] } });
        await cloud.settle();
        const server = cloud.named("dev-sh-server-install").inputs.create as string;
        assert.equal(
            /--registries '([^']*)'/.exec(server)?.[1],
            [
                "# Rendered by k3s-multicloud: the k3s system images (docker.io/rancher/*) are pulled through these mirrors on this mainland China node.",
                "mirrors:",
                "  docker.io:",
                "    endpoint:",
                '      - "https://mirror-a.example.cn/v2/rancher"',
                '      - "https://mirror-b.example.cn/v2-proxy/rancher"',
                "    rewrite:",
                '      "^rancher/(.*)$": "$1"',
                '      "^(?:[^r]|r[^a]|ra[^n]|ran[^c]|ranc[^h]|ranch[^e]|ranche[^r]|rancher[^/]).*$": "k3s-multicloud/NOT-A-RANCHER-IMAGE"',
                "",
            ].join("\n"),
        );
        for (const outside of ["dev-tokyo-1-install", "dev-home-1-install"]) assert.doesNotMatch(cloud.named(outside).inputs.create as string, /--registries/);
    });

    it("metricsServer external-ip: disables k3s' packaged one and deploys one that dials kubelets on public addresses", async () => {
        buildCluster({ options: { disable: ["traefik"], metricsServer: "external-ip" } });
        await cloud.settle();
        const component = cloud.named("dev-metrics-server");
        const children = cloud.registrations.filter((r) => r.parent === component.urn);
        assert.deepEqual(children.map((r) => `${r.type} ${(r.inputs.metadata as any).name}`).sort(), [
            "kubernetes:apiregistration.k8s.io/v1:APIService v1beta1.metrics.k8s.io",
            "kubernetes:apps/v1:Deployment metrics-server",
            "kubernetes:core/v1:Service metrics-server",
            "kubernetes:core/v1:ServiceAccount metrics-server",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole system:aggregated-metrics-reader",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole system:metrics-server",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding metrics-server:system:auth-delegator",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding system:metrics-server",
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding metrics-server-auth-reader",
        ]);
        const provider = cloud.named("dev-k8s");
        for (const child of children) assert.ok(child.provider.startsWith(`${provider.urn}::`), `${child.name} uses the cluster's provider`);
        // The takeover: k3s deletes a disabled add-on's objects (our names) when it starts, so every object of ours is
        // created only after the server's upgrade step, which restarts k3s with metrics-server disabled.
        const serverUpgrade = cloud.named("dev-sh-server-upgrade").urn;
        for (const child of children) assert.ok(child.dependencies.includes(serverUpgrade), `${child.name} waits for the server's restart`);
        const container = (cloud.named("dev-metrics-server-deployment").inputs.spec as any).template.spec.containers[0];
        assert.deepEqual(container.args, [
            "--cert-dir=/tmp",
            "--secure-port=10250",
            "--kubelet-preferred-address-types=ExternalIP,InternalIP,Hostname",
            "--kubelet-use-node-status-port",
            "--metric-resolution=15s",
        ]);
        assert.equal(container.image, "docker.io/rancher/mirrored-metrics-server:v0.7.2", "docker.io: mainland nodes pull it through their mirrors");
        // k3s' own is disabled on the server; agents' configs do not carry server-only keys.
        assert.match(cloud.named("dev-sh-server-install").inputs.create as string, /\ndisable:\n {2}- metrics-server\n {2}- traefik\n/);
        assert.equal(cloud.warnings.filter((w) => w.includes("kubectl top")).length, 0);
    });

    it("deploys no metrics-server of its own by default", async () => {
        buildCluster();
        await cloud.settle();
        assert.deepEqual(cloud.registrations.filter((r) => r.type === "k3s-multicloud:metrics:MetricsServer"), []);
        assert.doesNotMatch(cloud.named("dev-sh-server-install").inputs.create as string, /metrics-server/);
    });

    it("applies a staged change only on a prepared host whose firewall is in place: upgrade after prepare and host firewall", async () => {
        buildCluster();
        await cloud.settle();
        for (const node of ["sh-server", "tokyo-1", "home-1"]) {
            const upgrade = cloud.named(`dev-${node}-upgrade`);
            for (const before of ["prepare", "host-firewall", "install"]) {
                assert.ok(upgrade.dependencies.includes(cloud.named(`dev-${node}-${before}`).urn), `${node}: upgrade after ${before}`);
            }
        }
    });

    it("leaves the host firewall to the owner when asked", async () => {
        buildCluster({ hostFirewall: false });
        await cloud.settle();
        assert.deepEqual(cloud.registrations.filter((r) => r.name.endsWith("-host-firewall")), []);
    });

    it("reports the nodes, the API endpoint and a secret kubeconfig", async () => {
        const { cluster } = buildCluster();
        const [nodes, endpoint, kubeconfig, token] = await Promise.all([
            resolve(cluster.nodes),
            resolve(cluster.apiEndpoint),
            resolve(cluster.kubeconfig),
            resolve(cluster.token),
        ]);
        // Each node also says how doctor logs in - user, port, the pinned host key - and nothing that is a credential.
        const tokyoKey = nodes.value![1].hostKey;
        assert.match(tokyoKey ?? "", /^ssh-ed25519 AAAA\S+$/, "the key generated for the Vultr server");
        assert.deepEqual(nodes.value, [
            { name: "sh-server", cloud: "aliyun", location: "cn-shanghai", role: "server", ...ADDRESSES.server, behindNat: true, sshUser: "root", sshPort: 22, hostKey: FIRST_USE_HOST_KEY },
            { name: "tokyo-1", cloud: "vultr", location: "nrt", role: "agent", publicIp: "104.156.140.173", privateIp: "104.156.140.173", behindNat: false, sshUser: "root", sshPort: 22, hostKey: tokyoKey },
            { name: "home-1", cloud: "existing", location: "home-lab", role: "agent", ...ADDRESSES.home, behindNat: true, sshUser: "ubuntu", sshPort: 22, hostKey: HOST_KEY },
        ]);
        assert.equal(nodes.secret, false, "no credential in it: the nodes output is plain");
        assert.equal(endpoint.value, "https://47.100.1.10:6443");
        assert.equal(kubeconfig.secret, true);
        assert.match(kubeconfig.value!, /current-context: dev/);
        assert.equal(token.secret, true);
    });

    it("keeps every token, password and key out of plain inputs, and registers unique URNs", async () => {
        const { cluster, server } = buildCluster();
        const [token, password] = await Promise.all([resolve(cluster.token), resolve(server.rootPassword)]);
        await cloud.settle();
        const forbidden = [token.value!, password.value!, SECRETS.vultrPrivateKey, SECRETS.existingPrivateKey];
        for (const r of cloud.registrations) {
            for (const { path, value } of plainStrings(r.inputs)) {
                for (const s of forbidden) assert.ok(!value.includes(s), `${r.name}.${path} carries a secret`);
            }
        }
        for (const c of cloud.ofType(TYPES.remoteCommand)) assert.ok(isSecretValue(c.inputs.connection), c.name);
        assert.deepEqual(cloud.duplicateUrns(), []);
        const clusterUrn = cloud.named("dev").urn;
        for (const child of cloud.registrations.filter((r) => r.parent === clusterUrn)) {
            assert.ok(child.name.startsWith("dev-"), `${child.name} is named after the cluster`);
        }
    });
});

describe("K3sCluster guardrails", () => {
    let cloud: MockCloud;
    beforeEach(async () => {
        cloud = await MockCloud.install({ fixture: clusterCloudFixture() });
    });

    const rejects = assertConfigError;
    const existing = (name: string, location = "home", publicIp = "203.0.113.20") =>
        new ExistingServer(name, { publicIp, location, privateKey: secret(SECRETS.existingPrivateKey), hostKey: HOST_KEY }).host;

    it("needs a server", () => {
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [], agents: [existing("a-1")] }),
            "K3sCluster(c).servers = []: a cluster needs one server. Put the host that should run the control plane in servers, e.g. servers: [aliyun.host].",
        );
    });

    it("refuses a cluster name that is not a DNS-1123 label (it is written into the kubeconfig)", () => {
        rejects(
            () => new K3sCluster("x$&y", { k3sVersion: "v1.33.6+k3s1", servers: [existing("s-1")] }),
            'K3sCluster(x$&y) name = "x$&y": is not a DNS-1123 label (lowercase letters, digits and \'-\', starting and ending with a letter or digit). Use a name such as "x-y".',
        );
    });

    it("checks its nodes' names and taints itself, at its own field paths, before any node component sees them", () => {
        const handmade = { ...existing("s-1"), name: "s-1; reboot" };
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [handmade] }),
            'K3sCluster(c).servers[0].name = "s-1; reboot": is not a DNS-1123 label (lowercase letters, digits and \'-\', starting and ending with a letter or digit). Use a name such as "s-1-reboot".',
        );
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [existing("s-1")], agents: [existing("a-1", "home", "203.0.113.21")], nodeTaints: { "a-1": ["dedicated=edge"] } }),
            'K3sCluster(c).a-1.taints[0] = "dedicated=edge": is not a taint (key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute). Write it like "dedicated=edge:NoSchedule".',
        );
        // The cluster stopped before its first node: no step of s-1 was registered.
        assert.deepEqual(cloud.ofType(TYPES.remoteCommand).map((r) => r.name).filter((n) => n.startsWith("c-s-1")), []);
    });

    it("checks the name of a host built by hand, since it reaches config.yaml and every toolkit call", () => {
        const handmade = { ...existing("s-1"), name: "s-1; reboot" };
        rejects(
            () => new K3sServer("handmade", { host: handmade, k3sVersion: "v1.33.6+k3s1" }),
            'handmade.host.name = "s-1; reboot": is not a DNS-1123 label (lowercase letters, digits and \'-\', starting and ending with a letter or digit). Use a name such as "s-1-reboot".',
        );
        rejects(
            () => new K3sServer("s", { host: existing("s-2"), k3sVersion: "v1.33.6+k3s1", clusterName: "Prod Cluster" }),
            's.clusterName = "Prod Cluster": is not a DNS-1123 label (lowercase letters, digits and \'-\', starting and ending with a letter or digit). Use a name such as "prod-cluster".',
        );
    });

    it("refuses duplicate node names across host kinds", () => {
        const vultr = new VultrServer("vultr-box", { region: "nrt", plan: "p", osId: 1, sshPublicKey: SSH_PUBLIC_KEY, sshPrivateKey: "k", nodeName: "edge-1" }).host;
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [existing("s-1")], agents: [vultr, existing("edge-1", "home", "203.0.113.21")] }),
            'K3sCluster(c) node names = "edge-1": is used by more than one node. Give every node its own name (set nodeName on one of the hosts).',
        );
    });

    it("refuses a Vultr server whose firewall group cannot hold its rules, naming the count, before anything is registered", () => {
        const server = new VultrServer("v-0", { region: "nrt", plan: "p", osId: 1, sshPublicKey: SSH_PUBLIC_KEY, sshPrivateKey: "k" }).host;
        const agents = Array.from({ length: 49 }, (_, i) => existing(`a-${i + 1}`, "home", `198.51.100.${i + 1}`));
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [server], agents, apiAllowedCidrs: ["203.0.113.0/24"] }),
            "K3sCluster(c).vultrFirewallRuleLimit = 50: is less than the 53 rules v-0's Vultr firewall group needs (1 for SSH, 3 for API clients and ports open to anywhere, 49 for the API and etcd from each peer); " +
                "the API (6443) and etcd are never opened to anywhere. Open the API to anywhere at the cloud (apiAllowedCidrs: [0.0.0.0/0]; the host firewall and credentials still guard it), list fewer apiAllowedCidrs or sshAllowedCidrs, or set vultrFirewallRuleLimit if Vultr raised your account's limit.",
        );
    });

    it("once the group exists, a max_rule_count below the plan stops the rules in words (the limit Vultr reports wins)", () => {
        assert.equal(vultrGroupTooSmall("K3sCluster(c)", "v-0", 37, 50), undefined);
        assert.equal(vultrGroupTooSmall("K3sCluster(c)", "v-0", 37, undefined), undefined, "unknown until the group exists");
        assert.equal(
            vultrGroupTooSmall("K3sCluster(c)", "v-0", 37, 30)?.message,
            "K3sCluster(c).vultrFirewallRuleLimit = (not set): plans 37 rules for v-0's Vultr firewall group, which holds at most 30 (its max_rule_count). " +
                "Set vultrFirewallRuleLimit to 30, so the plan opens WireGuard and the kubelet to anywhere instead of per peer, or ask Vultr to raise the limit.",
        );
    });

    it("stops on two nodes behind one public address as soon as the addresses are known (a machine listed twice too)", () => {
        const nodes = [
            { name: "s-1", publicIp: "198.51.100.7" },
            { name: "pi-1", publicIp: "203.0.113.10" },
            { name: "pi-2", publicIp: "203.0.113.10" },
        ];
        assert.equal(sharedPublicAddress("K3sCluster(c) nodes", nodes.slice(0, 2)), undefined);
        assert.equal(
            sharedPublicAddress("K3sCluster(c) nodes", nodes)?.message,
            'K3sCluster(c) nodes pi-1, pi-2 = "203.0.113.10": share one public address: WireGuard peers are keyed by endpoint, so every other node keeps only one of them (flannel removes a peer whose endpoint another key took), and a router forwards UDP 51820 to one machine only. ' +
                "Give each node its own public address (another connection or a VPS), or keep one of them in the cluster; if it is the same machine listed twice, remove one entry.",
        );
    });

    it("refuses the same host twice", () => {
        const host = existing("s-1");
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [host], agents: [host] }),
            'K3sCluster(c).agents[0] = "s-1": is the same host as servers[0]. Use each host once: a node is either a server or an agent.',
        );
    });

    it("refuses servers spread over clouds or locations, suggesting agents", () => {
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [existing("s-1", "fra"), existing("s-2", "nrt", "203.0.113.22")] }),
            'K3sCluster(c).servers = ["s-1 (existing, fra)","s-2 (existing, nrt)"]: spreads servers over clouds or locations, and k3s\' embedded etcd is not supported across networks (it fails as soon as latency or NAT gets in the way). Keep one server, or put all servers in existing/fra, and make s-2 an agent: agents may be anywhere.',
        );
    });

    it("refuses an unpinned or too old k3s version", () => {
        rejects(
            () => new K3sCluster("c", { k3sVersion: "latest", servers: [existing("s-1")] }),
            'K3sCluster(c).k3sVersion = "latest": is not a pinned k3s release (vMAJOR.MINOR.PATCH+k3sN). Pin a release from https://github.com/k3s-io/k3s/releases, e.g. "v1.33.6+k3s1"; channels such as "stable" are not accepted.',
        );
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.21.4+k3s1", servers: [existing("s-1")] }),
            'K3sCluster(c).k3sVersion = "v1.21.4+k3s1": predates the wireguard-native flannel backend (first in v1.23.6+k3s1), which this project uses to encrypt traffic between clouds. Use a supported release: v1.31 to v1.35.',
        );
    });

    it("refuses IPVS with ServiceLB", () => {
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [existing("s-1")], options: { kubeProxyMode: "ipvs" } }),
            'K3sCluster(c).options.kubeProxyMode = "ipvs": IPVS with ServiceLB enabled black-holes traffic between nodes: IPVS binds every LoadBalancer IP to kube-ipvs0 on each node, and ServiceLB publishes the nodes\' own IPs as LoadBalancer IPs, so nodes stop reaching each other and go NotReady once a LoadBalancer Service exists (k3s #5000, #7183). Add "servicelb" to disable (and use another load balancer), or keep kubeProxyMode "iptables".',
        );
    });

    it("refuses numbers past their upper bound (1e9 seconds is 31 years), with the bound the stack config's schema has", () => {
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [existing("s-1")], meshTimeoutSeconds: 1e9 }),
            "K3sCluster(c).meshTimeoutSeconds = 1000000000: is not a whole number of seconds from 1 to 3600. Use e.g. 180 (default).",
        );
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [existing("s-1")], maxUnavailable: 501 }),
            "K3sCluster(c).maxUnavailable = 501: is not a whole number from 1 to 500. Use 1 (default) or more.",
        );
        const schema = JSON.parse(readFileSync(join(__dirname, "..", "..", "components", "multicloud", "clusterSpec.schema.json"), "utf8"));
        const spec = schema.definitions.ClusterSpec.properties;
        const bounds = (name: string) => ({ min: spec[name].minimum, max: spec[name].maximum });
        assert.deepEqual(bounds("meshTimeoutSeconds"), NUMBER_BOUNDS.waitSeconds);
        assert.deepEqual(bounds("maxUnavailable"), NUMBER_BOUNDS.maxUnavailable);
        assert.deepEqual(bounds("caGeneration"), NUMBER_BOUNDS.caGeneration);
        assert.deepEqual(bounds("vultrFirewallRuleLimit"), NUMBER_BOUNDS.vultrFirewallRuleLimit);
    });

    it("refuses per-node settings for a node that does not exist", () => {
        rejects(
            () => new K3sCluster("c", { k3sVersion: "v1.33.6+k3s1", servers: [existing("s-1")], nodeLabels: { "s-2": { a: "b" } } }),
            'K3sCluster(c).nodeLabels = "s-2": names no node of this cluster. Key it by one of the node names: s-1.',
        );
    });

    afterEach(async () => {
        await cloud.settle();
        assert.deepEqual(cloud.registrations.filter((r) => r.type.startsWith("k3s-multicloud:k3s")).map((r) => r.name), [], "nothing registered");
    });
});
