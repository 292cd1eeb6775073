import * as vultr from "@ediri/vultr";
import * as command from "@pulumi/command";
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { NodeAnnotations } from "../annotations/nodeAnnotations";
import { managedAnnotations, validateNodeMetadata } from "../annotations/managedAnnotations";
import { ClusterHost, HostProvider } from "../hosts/clusterHost";
import { MeshNodeStatus } from "../mesh/meshCheck";
import { clusterPortMatrix, swasRulesFor, VULTR_DEFAULT_RULE_LIMIT, VultrRulePlan, vultrRulesFor } from "../network/portMatrix";
import { ConfigError } from "../validation/configError";
import { parseIpv4Cidr } from "../validation/addresses";
import { NUMBER_BOUNDS, checkSetting, requireWholeNumber } from "../validation/numbers";
import { checkedAndHandedDown } from "../validation/handedDown";
import { validateTaint } from "../validation/kubernetesNames";
import { validateClusterName } from "../validation/names";
import { validateClusterShape } from "./clusterValidation";
import { clusterNodeAddresses, hostFirewallSteps, InstalledNode, meshCheckSteps, pruneSteps } from "./clusterSteps";
import { K3sAgent, K3sServer } from "./k3sNode";
import { clusterProvider } from "./kubernetesProvider";
import { MetricsServer } from "../metrics/metricsServer";
import { K3sOptions, K3sRole, validateK3sOptions } from "./options";
import { parseK3sVersion } from "./version";

export interface K3sClusterArgs {
    /** Pinned k3s release for every node, e.g. "v1.33.6+k3s1". */
    readonly k3sVersion: string;
    /** Control-plane hosts: one, or several in one cloud and location (embedded etcd). */
    readonly servers: readonly ClusterHost[];
    /** Worker hosts, in any cloud. */
    readonly agents?: readonly ClusterHost[];
    /** Cluster-wide k3s options. */
    readonly options?: K3sOptions;
    /** Extra annotations per node name, managed as NodePatch resources. */
    readonly nodeAnnotations?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** Labels per node name, managed as NodePatch resources (on top of the cloud and region labels set for every node). */
    readonly nodeLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** Taints per node name, applied when the node registers. */
    readonly nodeTaints?: Readonly<Record<string, readonly string[]>>;
    /** Annotation keys (besides flannel's public-ip-overwrite) whose change restarts k3s on that node. */
    readonly restartOnAnnotationChange?: readonly string[];
    /**
     * Who may reach the Kubernetes API (6443/tcp) besides the nodes: enforced by the host firewall on every node and
     * by the cloud firewall where it can filter. Default ["0.0.0.0/0"].
     */
    readonly apiAllowedCidrs?: readonly string[];
    /**
     * How many rules a Vultr firewall group may hold (`max_rule_count`: 50 unless Vultr raised it for your account).
     * Each Vultr server's rules are planned within it; the check after the group exists compares with what Vultr
     * reports. Default 50.
     */
    readonly vultrFirewallRuleLimit?: number;
    /**
     * Program a host firewall on every node (nftables, and ufw where it is active) that opens k3s' ports to cluster
     * members only. Default true. Turn it off only for hosts whose firewall you manage yourself.
     */
    readonly hostFirewall?: boolean;
    /**
     * Let pods reach the cloud's instance metadata service (169.254.169.254, Alibaba's 100.100.100.200). Default
     * false: the host firewall rejects it, because Vultr's user-data there holds each server's generated SSH host key
     * and any pod could read it. Needs `hostFirewall`.
     */
    readonly podMetadataAccess?: boolean;
    /** The join token (secret). Default: generated. Give it only for a new cluster: a changed token restarts servers. */
    readonly token?: pulumi.Input<string>;
    /**
     * The agent token (secret), the only credential agents get. Default: generated. For a new cluster, where the
     * `random` provider is not available (a machine without it) or the token must come from your secret store.
     */
    readonly agentToken?: pulumi.Input<string>;
    /**
     * Raise by one after rotating the cluster CA by hand (`k3s certificate rotate-ca`): the first server's CA hash is
     * read again and every agent's join token carries the new one. Default 0.
     */
    readonly caGeneration?: number;
    /**
     * Raise by one to revoke the admin kubeconfig and issue a new one (the identity `k3s-multicloud-admin-<N>`,
     * bound to cluster-admin alone). Default 1. See K3sServerArgs.adminCredentialGeneration.
     */
    readonly adminCredentialGeneration?: number;
    /** How long each install waits for its node to be Ready. Default 300 s. */
    readonly readyTimeoutSeconds?: number;
    /**
     * After the nodes are installed, check on every node that WireGuard peers with every other node at its public IP
     * with a recent handshake, and fail `pulumi up` in words when not. Default true.
     */
    readonly verifyMesh?: boolean;
    /** How long the mesh check waits for handshakes. Default 180 s. */
    readonly meshTimeoutSeconds?: number;
    /** How many agents an upgrade (or config change) drains at once. Default 1. */
    readonly maxUnavailable?: number;
    /**
     * The k3s version the cluster runs now, e.g. read from the stack's own previous outputs; an older k3sVersion is
     * refused at preview (k3s does not support downgrades).
     */
    readonly deployedK3sVersion?: pulumi.Input<string | undefined>;
}

/** One node as the cluster reports it. */
export interface ClusterNodeInfo {
    readonly name: string;
    readonly cloud: HostProvider;
    readonly location: string;
    readonly role: K3sRole;
    readonly publicIp: string;
    readonly privateIp: string;
    readonly behindNat: boolean;
    /** Who doctor logs in as (no credential: those stay in the stack's config). */
    readonly sshUser: string;
    readonly sshPort: number;
    /** The SSH host key every session pins (public); absent when the stack does not check it. */
    readonly hostKey?: string;
}

/**
 * One k3s cluster over hosts from any cloud: per-cloud firewall rules from one port matrix, then the server(s), then
 * every agent at once, then each node's managed annotations and labels.
 */
export class K3sCluster extends pulumi.ComponentResource {
    public readonly servers: K3sServer[];
    public readonly agents: K3sAgent[];
    /** Admin kubeconfig pointing at the first server's public IP; secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** https://<first server public ip>:6443 */
    public readonly apiEndpoint: pulumi.Output<string>;
    /** A Kubernetes provider for this cluster, for composing more resources. */
    public readonly provider: k8s.Provider;
    public readonly nodes: pulumi.Output<ClusterNodeInfo[]>;
    public readonly annotations: NodeAnnotations[];
    /** The server token (servers join with it; it encrypts the datastore); secret. Agents never get it. */
    public readonly token: pulumi.Output<string>;
    /** The agent token: the only credential agents get (in k3s' secure format, with the CA hash); secret. */
    public readonly agentToken: pulumi.Output<string>;
    /** The k3s version the cluster runs after this update (checked: never older than `deployedK3sVersion`). */
    public readonly k3sVersion: pulumi.Output<string>;
    /** Per node: the host firewall step (k3s' ports open to members only); empty with `hostFirewall: false`. */
    public readonly hostFirewalls: command.remote.Command[] = [];
    /** Per node: the step that prunes stale WireGuard peers when the set of nodes changes. */
    public readonly prunes: command.remote.Command[];
    /** Per node: the WireGuard peers seen, their endpoints and handshake ages, and any findings. */
    public readonly meshStatus: pulumi.Output<MeshNodeStatus[]>;

    constructor(name: string, args: K3sClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const servers = [...args.servers];
        const agents = [...(args.agents ?? [])];
        const field = `K3sCluster(${name})`;
        validateClusterName(`${field} name`, name);
        const version = parseK3sVersion(`${field}.k3sVersion`, args.k3sVersion);
        validateK3sOptions(`${field}.options`, args.options ?? {});
        validateClusterShape(name, servers, agents, {
            nodeAnnotations: args.nodeAnnotations,
            nodeLabels: args.nodeLabels,
            nodeTaints: args.nodeTaints,
        });
        const apiAllowedCidrs = (args.apiAllowedCidrs ?? ["0.0.0.0/0"]).map((cidr, i) => parseIpv4Cidr(`${field}.apiAllowedCidrs[${i}]`, cidr));
        // Every node's own annotations and labels, checked now so a bad key stops the preview before anything exists.
        const metadata = new Map(
            [...servers, ...agents].map((host) => {
                const annotations = args.nodeAnnotations?.[host.name] ?? {};
                const labels = {
                    "k3s-multicloud/cloud": host.provider,
                    "topology.kubernetes.io/region": host.location,
                    ...(args.nodeLabels?.[host.name] ?? {}),
                };
                validateNodeMetadata(`${field}.${host.name}`, annotations, labels);
                (args.nodeTaints?.[host.name] ?? []).forEach((taint, index) => validateTaint(`${field}.${host.name}.taints[${index}]`, taint));
                return [host, { annotations, labels }] as const;
            }),
        );

        // Checked here too, so a stack's mistake is named at the cluster, not at the server component it reaches.
        checkSetting.caGeneration(field, args.caGeneration);
        checkSetting.adminCredentialGeneration(field, args.adminCredentialGeneration);
        const maxUnavailable = requireWholeNumber(`${field}.maxUnavailable`, args.maxUnavailable ?? 1, NUMBER_BOUNDS.maxUnavailable, "is not a whole number from 1 to 500", "Use 1 (default) or more.");
        const meshTimeoutSeconds = requireWholeNumber(`${field}.meshTimeoutSeconds`, args.meshTimeoutSeconds ?? 180, NUMBER_BOUNDS.waitSeconds, "is not a whole number of seconds from 1 to 3600", "Use e.g. 180 (default).");
        if (args.readyTimeoutSeconds !== undefined) checkSetting.readyTimeoutSeconds(field, args.readyTimeoutSeconds);

        const ruleLimit = requireWholeNumber(`${field}.vultrFirewallRuleLimit`, args.vultrFirewallRuleLimit ?? VULTR_DEFAULT_RULE_LIMIT, NUMBER_BOUNDS.vultrFirewallRuleLimit, "is not a whole number from 1 to 1000", "Use 50 (Vultr's default) or the limit Vultr set for your account.");
        // k3s' embedded registry (Spegel) needs its port open between the nodes.
        const embeddedRegistry = args.options?.extraConfig?.["embedded-registry"] === true;
        const vultrPlans = planVultrFirewalls(field, servers, agents, apiAllowedCidrs, ruleLimit, embeddedRegistry);

        super("k3s-multicloud:k3s:K3sCluster", name, {}, opts);
        this.warnAboutOpenPorts(name, args, apiAllowedCidrs, [...servers, ...agents], vultrPlans);
        if (args.options?.kubeProxyMode === "ipvs" && version.minor >= 35) {
            pulumi.log.warn(
                `${name}: kube-proxy's ipvs mode is deprecated upstream from Kubernetes 1.35 (KEP-5495) and will be removed; its replacement is nftables mode (kube-proxy-arg proxy-mode=nftables). k3s ${args.k3sVersion} still runs ipvs.`,
                this,
            );
        }

        this.agentToken = pulumi.secret(args.agentToken ?? new random.RandomPassword(`${name}-agent-token`, { length: 48, special: false }, { parent: this }).result);
        this.token = pulumi.secret(
            args.token ?? new random.RandomPassword(`${name}-token`, { length: 48, special: false }, { parent: this }).result,
        );

        const firewallRules = this.firewallRules(name, servers, agents, vultrPlans, embeddedRegistry);
        const common = {
            k3sVersion: args.k3sVersion,
            options: args.options,
            readyTimeoutSeconds: args.readyTimeoutSeconds,
            deployedK3sVersion: args.deployedK3sVersion,
        };
        // Each node's upgrade step waits for the node's own host firewall, which is registered after the node's
        // component (it needs the prepare step inside it): a promise stands for it until then.
        const ownFirewall = [...servers, ...agents].map(() => {
            let resolve!: (step: pulumi.Resource) => void;
            const promise = new Promise<pulumi.Resource>((done) => (resolve = done));
            return { promise, resolve };
        });
        // Every value in these was checked above, at the cluster's field paths: the nodes take them as checked.
        const nodeArgs = (host: ClusterHost) => ({
            ...common,
            host,
            nodeTaints: args.nodeTaints?.[host.name],
            installAfter: firewallRules.get(host) ?? [],
            upgradeAfter: servers.includes(host) ? [ownFirewall[servers.indexOf(host)].promise] : [],
        });

        const [first, ...more] = servers;
        const firstServer = new K3sServer(
            `${name}-${first.name}`,
            checkedAndHandedDown({
                ...nodeArgs(first),
                token: this.token,
                agentToken: this.agentToken,
                clusterInit: more.length > 0,
                clusterName: name,
                caGeneration: args.caGeneration,
                adminCredentialGeneration: args.adminCredentialGeneration,
                // Every other node joins through it: a replaced machine is forgotten there before it joins again.
                joiningNodes: [...more, ...agents].filter((h) => h.identity).map((h) => ({ name: h.name, identity: h.identity! })),
            }),
            { parent: this },
        );
        // Further servers (HA) join the first one at a time: each installs and upgrades after the one before it, so no
        // two etcd members are down at once (with three servers, two down is a lost quorum).
        this.servers = [firstServer];
        for (const host of more) {
            const previous = this.servers[this.servers.length - 1];
            const own = nodeArgs(host);
            this.servers.push(
                new K3sServer(
                    `${name}-${host.name}`,
                    checkedAndHandedDown({
                        ...own,
                        installAfter: [...own.installAfter, previous.install],
                        upgradeAfter: [...own.upgradeAfter, previous.upgrade],
                        token: this.token,
                        joinServer: firstServer,
                        clusterName: name,
                        adminCredentialGeneration: args.adminCredentialGeneration,
                    }),
                    { parent: this },
                ),
            );
        }
        const serverRules = firewallRules.get(first) ?? [];
        // The host firewall: every node gets the same member list; agents install after the first server's, so a
        // server whose image ships ufw enabled (Vultr) has 6443 open before anyone joins.
        // Every node's name and addresses, servers first: what the host firewalls admit and the mesh checks expect.
        const nodeAddresses = clusterNodeAddresses([...servers, ...agents], field);
        const firewallStep =
            args.hostFirewall === false ? undefined : hostFirewallSteps(this, name, { servers, nodeAddresses, apiAllowedCidrs, options: args.options ?? {}, podMetadataAccess: args.podMetadataAccess === true });
        const hostFirewall = firewallStep
            ? (host: ClusterHost, role: K3sRole, prepared: pulumi.Resource) => {
                  const step = firewallStep(host, role, prepared);
                  this.hostFirewalls.push(step);
                  return step;
              }
            : undefined;
        const serverFirewall = this.servers.map((s, i) => {
            const step = hostFirewall?.(s.host, "server", s.prepared);
            ownFirewall[i].resolve(step ?? s.prepared);
            return step;
        });
        // Agents upgrade after every server, at most maxUnavailable at a time: each waits for the agent
        // maxUnavailable places before it. On create these steps do nothing, so the chain costs no SSH session.
        const lastServer = this.servers[this.servers.length - 1];
        this.agents = [];
        agents.forEach((host, index) => {
            const previous = index >= maxUnavailable ? [this.agents[index - maxUnavailable].upgrade] : [];
            this.agents.push(
                new K3sAgent(
                    `${name}-${host.name}`,
                    checkedAndHandedDown({
                        ...nodeArgs(host),
                        server: firstServer,
                        // After every server: an agent joins a control plane that is complete.
                        installAfter: [
                            ...(firewallRules.get(host) ?? []),
                            ...serverRules,
                            ...(serverFirewall[0] ? [serverFirewall[0]] : []),
                            ...(lastServer !== firstServer ? [lastServer.install] : []),
                        ],
                        upgradeAfter: [lastServer.upgrade, ...previous, ownFirewall[servers.length + index].promise],
                    }),
                    { parent: this },
                ),
            );
        });
        this.agents.forEach((agent, index) => {
            ownFirewall[servers.length + index].resolve(hostFirewall?.(agent.host, "agent", agent.prepared) ?? agent.prepared);
        });

        this.kubeconfig = firstServer.kubeconfig;
        this.k3sVersion = firstServer.k3sVersion;
        this.apiEndpoint = firstServer.url;
        this.provider = clusterProvider(name, this.kubeconfig, `k3s-multicloud-${name}`, this);
        if (args.options?.metricsServer === "external-ip") {
            // After every server restarted with the packaged one disabled: k3s removes that one's objects, which have
            // our names, when it starts.
            new MetricsServer(`${name}-metrics-server`, { provider: this.provider, after: this.servers.map((s) => s.upgrade) }, { parent: this });
        }

        // `settled`: the node runs what the stack says - installed, and any staged change applied by its upgrade step.
        const installed: Array<InstalledNode & { removal: pulumi.Resource }> = [
            ...this.servers.map((s) => ({ host: s.host, role: "server" as const, settled: s.upgrade, removal: s.removal })),
            ...this.agents.map((a) => ({ host: a.host, role: "agent" as const, settled: a.upgrade, removal: a.removal })),
        ];
        // A server's restart for a changed annotation waits for the server before it: one etcd member down at a time.
        let previousServerRestart: pulumi.Resource | undefined;
        this.annotations = installed.map(({ host, role, removal }) => {
            const { annotations: userAnnotations, labels } = metadata.get(host)!;
            const after = role === "server" && previousServerRestart ? [previousServerRestart] : [];
            const annotated = new NodeAnnotations(
                `${name}-${host.name}-metadata`,
                // The node name, the user's annotations and the labels were checked above; managedAnnotations adds
                // public-ip-overwrite, the node's public address, and checks the user's value for it against that.
                checkedAndHandedDown({
                    nodeName: host.name,
                    // public-ip-overwrite comes from the same publicIp as node-external-ip in the node's config.
                    annotations: host.publicIp.apply((ip) => managedAnnotations(`${field}.${host.name}`, userAnnotations, ip)),
                    labels,
                    provider: this.provider,
                    // After the install, through the removal step: on removal the patch goes first, while the Node
                    // still exists, then the node is drained and deleted.
                    registeredBy: removal,
                    restart: {
                        connection: host.connection,
                        sudo: host.sudo,
                        role,
                        restartKeys: args.restartOnAnnotationChange,
                        readyTimeoutSeconds: args.readyTimeoutSeconds,
                        after,
                    },
                }),
                { parent: this },
            );
            if (role === "server") previousServerRestart = annotated.restart ?? annotated.patch;
            return annotated;
        });

        this.nodes = pulumi.all(
            installed.map(({ host, role }) => {
                // The connection is secret as a whole; these parts of it are not credentials.
                const ssh = pulumi.unsecret(pulumi.output(host.connection).apply((c) => ({ user: c.user, port: c.port, hostKey: c.hostKey })));
                return pulumi.all([host.publicIp, host.privateIp, ssh]).apply(
                    ([publicIp, privateIp, login]): ClusterNodeInfo => ({
                        name: host.name,
                        cloud: host.provider,
                        location: host.location,
                        role,
                        publicIp,
                        privateIp,
                        behindNat: host.behindNat,
                        sshUser: login.user,
                        sshPort: login.port,
                        ...(login.hostKey ? { hostKey: login.hostKey } : {}),
                    }),
                );
            }),
        );

        this.prunes = pruneSteps(this, name, installed);
        // The mesh checks wait for every node settled, pruned, patched and restarted, and every firewall rule.
        this.meshStatus =
            args.verifyMesh === false
                ? pulumi.output([])
                : meshCheckSteps(
                      this,
                      name,
                      installed,
                      nodeAddresses,
                      [
                          ...installed.map((n) => n.settled),
                          ...this.prunes,
                          ...this.annotations.map((a): pulumi.Resource => a.restart ?? a.patch),
                          ...[...firewallRules.values()].flat(),
                          ...this.hostFirewalls,
                      ],
                      meshTimeoutSeconds,
                  );

        // The mesh status is an output of the component, so a mesh that did not form fails `pulumi up`.
        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            apiEndpoint: this.apiEndpoint,
            nodes: this.nodes,
            k3sVersion: this.k3sVersion,
            meshStatus: this.meshStatus,
        });
    }

    /** Said in every preview (not only in the offline plan): which k3s ports anyone on the internet can reach. */
    private warnAboutOpenPorts(
        name: string,
        args: K3sClusterArgs,
        apiAllowedCidrs: ReadonlyArray<{ address: string; prefix: number }>,
        hosts: readonly ClusterHost[],
        vultrPlans: ReadonlyMap<ClusterHost, VultrRulePlan>,
    ): void {
        if (apiAllowedCidrs.some((c) => c.prefix === 0)) {
            pulumi.log.warn(
                `${name}: the Kubernetes API (6443/tcp on the servers) accepts connections from anywhere (apiAllowedCidrs 0.0.0.0/0); it still requires credentials. Set apiAllowedCidrs to where kubectl and pulumi run from.`,
                this,
            );
        }
        const natted = hosts.filter((h) => h.behindNat).map((h) => h.name);
        const metrics = args.options?.metricsServer ?? "packaged";
        if (metrics === "packaged" && !(args.options?.disable ?? []).includes("metrics-server") && natted.length > 0) {
            pulumi.log.warn(
                `${name}: \`kubectl top\` cannot reach ${natted.join(", ")}: k3s' packaged metrics-server dials each node's InternalIP, a private address behind NAT. Set the cluster option metricsServer: "external-ip" to deploy one that dials public addresses (the servers restart k3s once to disable the packaged one).`,
                this,
            );
        }
        const widened = [...vultrPlans].filter(([, plan]) => plan.widened.length > 0);
        if (widened.length > 0) {
            const filter = args.hostFirewall === false ? "and with the host firewall off nothing else filters them" : "the host firewall on each node still admits only the cluster's members";
            const which = widened.map(([host, plan]) => `${host.name} (${plan.widened.join(", ")})`).join(", ");
            pulumi.log.warn(
                `${name}: a Vultr firewall group holds at most ${args.vultrFirewallRuleLimit ?? VULTR_DEFAULT_RULE_LIMIT} rules, too few for one rule per peer and port, so the cloud firewall opens these ports to anywhere: ${which}; ${filter}. The API (6443) and etcd are never opened this way.`,
                this,
            );
        }
        if (args.hostFirewall === false) {
            const swas = hosts.filter((h) => h.firewall.kind === "aliyun-swas").map((h) => h.name);
            if (swas.length > 0) {
                pulumi.log.warn(
                    `${name}: hostFirewall is off and SWAS cloud rules made through Pulumi cannot filter by source (the SWAS API can; the provider's FirewallRule has no field for it), so k3s' ports (6443, 10250, 51820-51821) on ${swas.join(", ")} are open to the whole internet.`,
                    this,
                );
            }
        }
    }

    /** Opens the port matrix in each host's cloud firewall; returns the rules per host so installs can wait for them. */
    private firewallRules(
        name: string,
        servers: readonly ClusterHost[],
        agents: readonly ClusterHost[],
        vultrPlans: ReadonlyMap<ClusterHost, VultrRulePlan>,
        embeddedRegistry: boolean,
    ): Map<ClusterHost, pulumi.Resource[]> {
        const matrix = clusterPortMatrix(servers.length, { embeddedRegistry });
        const all = [...servers.map((h) => ({ host: h, role: "server" as const })), ...agents.map((h) => ({ host: h, role: "agent" as const }))];
        const byName = new Map(all.map(({ host }) => [host.name, host]));
        const rules = new Map<ClusterHost, pulumi.Resource[]>();
        for (const { host, role } of all) {
            const firewall = host.firewall;
            if (firewall.kind === "aliyun-swas") {
                rules.set(
                    host,
                    swasRulesFor(role, matrix).map(
                        (spec) =>
                            new alicloud.simpleapplicationserver.FirewallRule(
                                `${name}-${host.name}-fw-${spec.key}`,
                                { instanceId: firewall.instanceId, ruleProtocol: spec.ruleProtocol, port: spec.port, remark: spec.remark },
                                // A rule's port never changes under its name (the name holds the port); what changed is
                                // its form ("6443" up to 0.3.0, "6443/6443" now), and a change of `port` replaces the rule.
                                { parent: this, provider: firewall.provider, ignoreChanges: ["port"] },
                            ),
                    ),
                );
            } else if (firewall.kind === "vultr-firewall-group") {
                const plan = vultrPlans.get(host)!;
                // The group's real limit is known once it exists: a group that holds fewer rules than planned fails
                // here, in words, instead of at the Vultr API halfway through the rules. The id itself is unchanged.
                const groupId = firewall.maxRuleCount
                    ? pulumi.all([firewall.firewallGroupId, firewall.maxRuleCount]).apply(([id, max]) => {
                          const problem = vultrGroupTooSmall(`K3sCluster(${name})`, host.name, plan.total, max);
                          if (problem) throw problem;
                          return id;
                      })
                    : firewall.firewallGroupId;
                rules.set(
                    host,
                    plan.rules.map((spec) => {
                        const source =
                            spec.source.kind === "node"
                                ? { subnet: byName.get(spec.source.node)!.publicIp, subnetSize: 32 }
                                : { subnet: spec.source.address, subnetSize: spec.source.prefix };
                        return new vultr.FirewallRule(
                            `${name}-${host.name}-fw-${spec.key}`,
                            {
                                firewallGroupId: groupId,
                                protocol: spec.protocol,
                                ipType: "v4",
                                port: spec.port,
                                notes: spec.notes,
                                ...source,
                            },
                            { parent: this, provider: firewall.provider },
                        );
                    }),
                );
            }
        }
        return rules;
    }
}

/**
 * Each Vultr host's rules, planned within its firewall group's limit (components/network/portMatrix.ts); a host whose
 * rules cannot fit even with WireGuard and the kubelet open to anywhere stops the preview in words.
 */
function planVultrFirewalls(
    field: string,
    servers: readonly ClusterHost[],
    agents: readonly ClusterHost[],
    apiAllowedCidrs: ReadonlyArray<{ address: string; prefix: number }>,
    limit: number,
    embeddedRegistry: boolean,
): Map<ClusterHost, VultrRulePlan> {
    const matrix = clusterPortMatrix(servers.length, { embeddedRegistry });
    const peers = { nodes: [...servers, ...agents].map((h) => h.name), servers: servers.map((h) => h.name) };
    const plans = new Map<ClusterHost, VultrRulePlan>();
    for (const host of [...servers, ...agents]) {
        const firewall = host.firewall;
        if (firewall.kind !== "vultr-firewall-group") continue;
        const role = servers.includes(host) ? "server" : "agent";
        const plan = vultrRulesFor(host.name, role, matrix, peers, apiAllowedCidrs, { reserved: firewall.reservedRules ?? 0, limit });
        if (plan.total > limit) {
            const perPeer = plan.rules.filter((r) => r.source.kind === "node").length;
            throw new ConfigError(
                `${field}.vultrFirewallRuleLimit`,
                limit,
                `is less than the ${plan.total} rules ${host.name}'s Vultr firewall group needs (${firewall.reservedRules ?? 0} for SSH, ${plan.rules.length - perPeer} for API clients and ports open to anywhere, ${perPeer} for the API and etcd from each peer); the API (6443) and etcd are never opened to anywhere`,
                "Open the API to anywhere at the cloud (apiAllowedCidrs: [0.0.0.0/0]; the host firewall and credentials still guard it), list fewer apiAllowedCidrs or sshAllowedCidrs, or set vultrFirewallRuleLimit if Vultr raised your account's limit.",
            );
        }
        plans.set(host, plan);
    }
    return plans;
}

/** The group Vultr made holds fewer rules (its max_rule_count) than the plan needs: the error to stop on, else undefined. */
export function vultrGroupTooSmall(field: string, host: string, planned: number, maxRuleCount: number | undefined): ConfigError | undefined {
    if (typeof maxRuleCount !== "number" || maxRuleCount <= 0 || maxRuleCount >= planned) return undefined;
    return new ConfigError(
        `${field}.vultrFirewallRuleLimit`,
        undefined,
        `plans ${planned} rules for ${host}'s Vultr firewall group, which holds at most ${maxRuleCount} (its max_rule_count)`,
        `Set vultrFirewallRuleLimit to ${maxRuleCount}, so the plan opens WireGuard and the kubelet to anywhere instead of per peer, or ask Vultr to raise the limit.`,
    );
}
