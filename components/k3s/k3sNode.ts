import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ClusterHost, SshConnection } from "../hosts/clusterHost";
import { requireLocalSshPrograms } from "../hosts/localTools";
import { checkedAbove } from "../validation/handedDown";
import { validateLabels, validateTaint } from "../validation/kubernetesNames";
import { resolveInstallMirror } from "./installSource";
import { relayCommand, shippedToolkit } from "../toolkit/bundle";
import { toolkitCall } from "../toolkit/contract";
import { KUBECONFIG_TRIGGER, kubeconfigForPublicEndpoint, kubeconfigWarnings } from "./kubeconfig";
import { caHashOf } from "./nodeSteps";
import { DEFAULT_CHINA_REGISTRY_MIRRORS, renderRegistries } from "./registries";
import { serverUrlFor } from "./nodeConfig";
import { NodeSteps, renderNodeSteps, renderPrepareCommand, renderReprobeCommand, scheduledRebootBootId } from "./nodeSteps";
import { K3sOptions, K3sRole, validateK3sOptions } from "./options";
import { compareK3sVersions, parseK3sVersion } from "./version";
import { ConfigError } from "../validation/configError";
import { checkSetting } from "../validation/numbers";
import { validateClusterName, validateNodeName } from "../validation/names";

/** What servers and agents share. */
export interface K3sNodeArgs {
    /** The host to install on (from AliyunLightweightServer, VultrServer or ExistingServer). */
    readonly host: ClusterHost;
    /** Pinned k3s release, e.g. "v1.33.6+k3s1". */
    readonly k3sVersion: string;
    /** Cluster-wide k3s options (kube-proxy mode, disabled components, install mirror, extra config). */
    readonly options?: K3sOptions;
    /** Labels set when the node registers (k3s applies them once; NodeAnnotations manages them afterwards). */
    readonly nodeLabels?: Readonly<Record<string, string>>;
    /** Taints set when the node registers, e.g. "dedicated=edge:NoSchedule". */
    readonly nodeTaints?: readonly string[];
    /** How long the install step waits for the node to be Ready. Default 300 s. */
    readonly readyTimeoutSeconds?: number;
    /** Resources that must exist before the install step, e.g. the firewall rules that open the node's ports. */
    readonly installAfter?: readonly pulumi.Resource[];
    /**
     * What must finish before this node's upgrade step: the server's and the previous batch of agents' upgrades, the
     * node's own host firewall (K3sCluster passes it as a promise: that step is created after this component).
     */
    readonly upgradeAfter?: ReadonlyArray<pulumi.Input<pulumi.Resource>>;
    /**
     * The k3s version the cluster runs now (e.g. from the stack's previous outputs); a k3sVersion older than it is
     * refused at preview, since k3s does not support downgrades.
     */
    readonly deployedK3sVersion?: pulumi.Input<string | undefined>;
}

export interface K3sServerArgs extends K3sNodeArgs {
    /** The server token (secret): servers join with it and k3s encrypts its datastore with it. Default: 48 random characters generated here. */
    readonly token?: pulumi.Input<string>;
    /**
     * The agent token (secret): the only credential agents get; it can join agents and nothing else. Default: the
     * joined server's, or 48 random characters generated here.
     */
    readonly agentToken?: pulumi.Input<string>;
    /** Start embedded etcd: set on the first of several servers. */
    readonly clusterInit?: boolean;
    /** Join this existing server instead of starting a new cluster (further servers of an HA cluster). */
    readonly joinServer?: K3sServer;
    /** Names the kubeconfig's cluster, context and user. Default: the component name. */
    readonly clusterName?: string;
    /**
     * The nodes that join through this server, with the identity of their machine (`ClusterHost.identity`). When a
     * node's machine is replaced under the same name, this server's install step deletes the old Node object and its
     * node password before the new machine joins (k3s would reject it: "Node password rejected"). K3sCluster fills it.
     */
    readonly joiningNodes?: ReadonlyArray<{ readonly name: string; readonly identity: pulumi.Input<string> }>;
    /**
     * Raise after rotating the cluster CA by hand (`k3s certificate rotate-ca`): the server's CA hash is read again and
     * every agent's join token carries the new one (an agent checks it at every start). Default 0.
     */
    readonly caGeneration?: number;
    /**
     * The admin kubeconfig's identity is the user `k3s-multicloud-admin-<N>`, bound to cluster-admin by the
     * ClusterRoleBinding `k3s-multicloud-admin` (made on the server with k3s' own admin credential). Raise it by one to
     * rotate: the kubeconfig step mints a credential for the next user and binds cluster-admin to it alone, so every
     * earlier credential stops working at once. Default 1. (The `kubernetes` provider is updated, not replaced.)
     */
    readonly adminCredentialGeneration?: number;
}

export interface K3sAgentArgs extends K3sNodeArgs {
    /** The server to join; the agent uses its public URL and token, and installs after it. */
    readonly server: K3sServer;
}

/** The remote steps of one node, registered as children of its component. */
interface RegisteredSteps {
    readonly steps: pulumi.Output<NodeSteps>;
    readonly prepare: command.remote.Command;
    readonly install: command.remote.Command;
    readonly removal: command.local.Command;
    readonly upgrade: command.local.Command;
    /** The host is prepared (toolkit delivered, WireGuard probed; after a kernel-upgrade reboot, probed again). */
    readonly prepared: pulumi.Resource;
    /** The requested version, once checked against the deployed one. */
    readonly version: pulumi.Output<string>;
}

/**
 * Renders and registers a node's steps: prepare (packages, kernel WireGuard probe; with the "upgrade" kernel policy
 * also a reboot wait and a second probe), install (config, token through stdin, pinned installer, wait for Ready),
 * and two local steps that act only later - upgrade (on a new version or config) and removal (on delete). Shared by
 * K3sServer and K3sAgent, which differ only in what they render and whom they wait for.
 */
function registerNodeSteps(
    parent: pulumi.ComponentResource,
    name: string,
    role: K3sRole,
    args: K3sNodeArgs,
    /** What the install step reads on stdin: the join token (servers: then the agent token), one per line; secret. */
    joinSecrets: pulumi.Output<string>,
    extra: {
        serverUrl?: pulumi.Input<string>;
        clusterInit?: boolean;
        installAfter?: pulumi.Resource[];
        /** The server that drains this node and deletes its Node object when it is removed. */
        drainVia?: K3sServer;
        /** Servers: the nodes joining through it and their machines' identities (see K3sServerArgs). */
        joiningNodes?: K3sServerArgs["joiningNodes"];
        /** Servers: see K3sServerArgs.adminCredentialGeneration. */
        adminCredentialGeneration?: number;
    },
): RegisteredSteps {
    const { host } = args;
    const options = args.options ?? {};
    const mirror = resolveInstallMirror(options.installMirror ?? "auto", host.provider, host.location);
    const identities = pulumi.all((extra.joiningNodes ?? []).map((n) => pulumi.all([n.name, n.identity])));
    const steps = pulumi
        .all([host.privateIp, host.publicIp, extra.serverUrl, identities])
        .apply(([privateIp, publicIp, serverUrl, joining]) =>
            renderNodeSteps({
                config: {
                    role,
                    nodeName: host.name,
                    privateIp,
                    publicIp,
                    serverUrl,
                    clusterInit: extra.clusterInit,
                    nodeLabels: args.nodeLabels,
                    nodeTaints: args.nodeTaints,
                    options,
                },
                version: args.k3sVersion,
                mirror,
                sudo: host.sudo,
                readyTimeoutSeconds: args.readyTimeoutSeconds ?? 300,
                nodeIdentities: joining.map(([nodeName, identity]) => `${nodeName}=${identity}`).join(","),
                adminCredentialGeneration: extra.adminCredentialGeneration,
                registries: mirror === "cn" ? renderRegistries(options.chinaRegistryMirrors ?? DEFAULT_CHINA_REGISTRY_MIRRORS) : undefined,
            }),
        );

    // The prepare step delivers the toolkit (stdin) and prepares the host in one session; a new toolkit changes this
    // step and no other. A new machine under the same name (another instance id) gets it delivered again.
    const prepare = new command.remote.Command(
        `${name}-prepare`,
        {
            connection: host.connection,
            create: renderPrepareCommand(host.name, options, host.sudo),
            stdin: shippedToolkit().payload,
            addPreviousOutputInEnv: false,
            ...(host.identity ? { triggers: [host.identity] } : {}),
        },
        { parent, dependsOn: [host.ready] },
    );
    // Kernel policy "upgrade": prepare may schedule a reboot into a new kernel. Wait for it locally (no SSH), then
    // reconnect (the dial policy waits for sshd) and probe again before installing.
    let readyForInstall: pulumi.Resource = prepare;
    if (options.wireguardKernel === "upgrade") {
        const rebootWait = new command.local.Command(
            `${name}-reboot-wait`,
            { create: prepare.stdout.apply((out) => (scheduledRebootBootId(out ?? "") === "none" ? "true" : "sleep 30")) },
            { parent, dependsOn: [prepare] },
        );
        readyForInstall = new command.remote.Command(
            `${name}-reprobe`,
            {
                connection: host.connection,
                create: prepare.stdout.apply((out) => renderReprobeCommand(host.name, options, host.sudo, scheduledRebootBootId(out ?? ""))),
                addPreviousOutputInEnv: false,
            },
            { parent, dependsOn: [rebootWait] },
        );
    }
    const install = new command.remote.Command(
        `${name}-install`,
        {
            connection: host.connection,
            create: steps.install,
            // The token reaches the host on stdin only: the command text stays free of secrets and readable in review.
            stdin: pulumi.secret(joinSecrets),
            addPreviousOutputInEnv: false,
        },
        { parent, dependsOn: [readyForInstall, ...(args.installAfter ?? []), ...(extra.installAfter ?? [])] },
    );
    // Upgrades: on a node that already runs k3s, the install step only stages a new version or config. This local
    // step, whose create does nothing, applies it on update: it asks the node for its fingerprint (k3s version +
    // config.yaml) and, only when that differs from the rendered one, drains the node through its server, applies
    // the staged change and uncordons it. New credentials or a library upgrade change this step's inputs but not the
    // fingerprint, so the node is left alone. Its ordering against other nodes' upgrade steps makes the server go
    // first and agents go in batches. It holds no config and no token: only connections, names and fingerprints.
    const drainVia = extra.drainVia;
    requireLocalSshPrograms();
    const version = pulumi.output(args.deployedK3sVersion).apply((deployed) => refuseDowngrade(name, args.k3sVersion, deployed));
    const upgrade = new command.local.Command(
        `${name}-upgrade`,
        {
            create: "true",
            update: relayCommand("upgrade"),
            environment: {
                K3SMC_NODE_NAME: host.name,
                K3SMC_VERSION: version,
                K3SMC_FINGERPRINT: steps.fingerprint,
                K3SMC_FINGERPRINT_COMMAND: steps.readFingerprint,
                K3SMC_APPLY_COMMAND: steps.applyStaged,
                ...relayHostEnvironment("K3SMC_NODE", host.connection),
                ...serverEnvironment(drainVia, host.name, { K3SMC_DRAIN_COMMAND: "drain", K3SMC_UNCORDON_COMMAND: "uncordon" }),
            },
            addPreviousOutputInEnv: false,
        },
        // After its own install (which ran after prepare) and whatever the caller names: a staged change is applied on
        // a prepared host whose firewall is in place.
        { parent, dependsOn: [install, readyForInstall, ...(args.upgradeAfter ?? [])] },
    );

    // Removal: a local command whose delete (run with the inputs stored at its last update) drains the node through
    // a server and uninstalls k3s if the host still answers, so a host that is already gone cannot block
    // `pulumi destroy`. Its create does nothing.
    const removal = new command.local.Command(
        `${name}-removal`,
        {
            create: "true",
            delete: relayCommand("remove"),
            environment: {
                K3SMC_NODE_NAME: host.name,
                K3SMC_UNINSTALL_COMMAND: steps.uninstall,
                ...relayHostEnvironment("K3SMC_NODE", host.connection),
                ...serverEnvironment(drainVia, host.name, { K3SMC_DRAIN_COMMAND: "remove" }),
            },
            addPreviousOutputInEnv: false,
        },
        { parent, dependsOn: [upgrade, ...(drainVia ? [drainVia.removal] : [])] },
    );
    return { steps, prepare, install, removal, upgrade, version, prepared: readyForInstall };
}

type ServerAction = "remove" | "drain" | "uncordon";

/**
 * The server part of a relay's environment: how to reach the server, and the toolkit calls (by variable name) it
 * runs for `target`. Empty for a node that is not drained through a server (the only server).
 */
function serverEnvironment(
    drainVia: K3sServer | undefined,
    target: string,
    commands: Record<string, ServerAction>,
): Record<string, pulumi.Input<string>> {
    if (!drainVia) return {};
    const server = drainVia.host;
    return {
        ...relayHostEnvironment("K3SMC_SERVER", server.connection),
        ...Object.fromEntries(
            Object.entries(commands).map(([variable, action]) => [
                variable,
                toolkitCall("drain", { "node-name": server.name, "target-node": target, action }, server.sudo),
            ]),
        ),
    };
}

/** k3s does not support downgrades: a version older than the running one is refused, naming both. */
export function refuseDowngrade(name: string, requested: string, deployed: string | undefined): string {
    if (deployed === undefined || deployed === "") return requested;
    const wanted = parseK3sVersion(`${name}.k3sVersion`, requested);
    const running = parseK3sVersion(`${name} deployed k3s version`, deployed);
    if (compareK3sVersions(wanted, running) < 0) {
        throw new ConfigError(
            `${name}.k3sVersion`,
            requested,
            `is older than ${deployed}, which the cluster runs, and k3s does not support downgrades`,
            `Keep k3sVersion at ${deployed} or newer; to go back, rebuild the cluster (restore an etcd snapshot of the older version).`,
        );
    }
    return requested;
}

/**
 * An SSH connection as the relay's environment (see components/toolkit/relay.sh): always the same six variables,
 * empty when unused, each secret because the connection is.
 */
function relayHostEnvironment(prefix: string, connection: pulumi.Output<SshConnection>): Record<string, pulumi.Output<string>> {
    const field = (read: (c: SshConnection) => string | number | undefined) => connection.apply((c) => String(read(c) ?? ""));
    return {
        [`${prefix}_HOST`]: field((c) => c.host),
        [`${prefix}_PORT`]: field((c) => c.port),
        [`${prefix}_USER`]: field((c) => c.user),
        [`${prefix}_KEY`]: field((c) => c.privateKey),
        [`${prefix}_PASSWORD`]: field((c) => c.password),
        [`${prefix}_HOST_KEY`]: field((c) => c.hostKey),
    };
}

/** Checks what servers and agents share before anything is registered (K3sCluster checks the same for its nodes). */
function validateNodeArgs(name: string, args: K3sNodeArgs): void {
    // A host built by hand (not by this package's host components) is checked here: its name becomes the node name,
    // lands in config.yaml and in every toolkit call.
    validateNodeName(`${name}.host.name`, args.host.name);
    parseK3sVersion(`${name}.k3sVersion`, args.k3sVersion);
    validateK3sOptions(`${name}.options`, args.options ?? {});
    validateLabels(`${name}.nodeLabels`, args.nodeLabels ?? {});
    (args.nodeTaints ?? []).forEach((taint, index) => validateTaint(`${name}.nodeTaints[${index}]`, taint));
    if (args.readyTimeoutSeconds !== undefined) checkSetting.readyTimeoutSeconds(name, args.readyTimeoutSeconds);
}

/**
 * A k3s server on a host: flannel with wireguard-native over the nodes' public IPs, the public IP in tls-san, and
 * the admin kubeconfig (secret) pointing at the public IP.
 */
export class K3sServer extends pulumi.ComponentResource {
    public readonly host: ClusterHost;
    /** The server token (servers join with it; it encrypts the datastore); secret. Agents never get it. */
    public readonly token: pulumi.Output<string>;
    /** The agent token, as the server knows it; secret. */
    public readonly agentToken: pulumi.Output<string>;
    /**
     * The cluster CA's hash as k3s put it in its own secure token, read by the server's ca-hash step ("" before it
     * ran, e.g. under mocks).
     */
    public readonly caHash: pulumi.Output<string>;
    /**
     * What agents join with: the agent token in k3s' secure format, `K10<CA hash>::node:<agent token>`, so an agent
     * checks the server's CA before it sends the credential (the bare agent token while the CA hash is unknown).
     */
    public readonly agentJoinToken: pulumi.Output<string>;
    /** https://<public ip>:6443, what agents join and the kubeconfig points at. */
    public readonly url: pulumi.Output<string>;
    /** The rendered /etc/rancher/k3s/config.yaml (no secrets in it). */
    public readonly configYaml: pulumi.Output<string>;
    public readonly prepare: command.remote.Command;
    public readonly install: command.remote.Command;
    /** Uninstalls k3s when the server is removed from the stack. */
    public readonly removal: command.local.Command;
    /** Applies a new version or config to the server before anything else is upgraded. */
    public readonly upgrade: command.local.Command;
    /** The host is prepared: the toolkit is there and WireGuard works. */
    public readonly prepared: pulumi.Resource;
    /** The k3s version, checked against `deployedK3sVersion` (a downgrade fails here). */
    public readonly k3sVersion: pulumi.Output<string>;
    /** Admin kubeconfig pointing at the public IP; secret. */
    public readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: K3sServerArgs, opts?: pulumi.ComponentResourceOptions) {
        if (!checkedAbove(args)) validateNodeArgs(name, args);
        if (args.clusterName !== undefined) validateClusterName(`${name}.clusterName`, args.clusterName);
        const caGeneration = checkSetting.caGeneration(name, args.caGeneration);
        const adminCredentialGeneration = checkSetting.adminCredentialGeneration(name, args.adminCredentialGeneration);
        super("k3s-multicloud:k3s:K3sServer", name, {}, opts);
        this.host = args.host;
        this.token = pulumi.secret(
            args.token ??
                new random.RandomPassword(`${name}-token`, { length: 48, special: false }, { parent: this }).result,
        );
        this.agentToken = pulumi.secret(
            args.agentToken ??
                args.joinServer?.agentToken ??
                new random.RandomPassword(`${name}-agent-token`, { length: 48, special: false }, { parent: this }).result,
        );
        this.url = args.host.publicIp.apply(serverUrlFor);

        const upgradeAfter = [...(args.joinServer ? [args.joinServer.upgrade] : []), ...(args.upgradeAfter ?? [])];
        // A joining server (HA) sends its token over the internet to the first server: in k3s' secure format,
        // K10<CA hash>::server:<token>, it checks the first server's CA before it does (the short form trusts any).
        const joinToken = args.joinServer
            ? pulumi.all([args.joinServer.caHash, this.token]).apply(([hash, token]) => (hash ? `K10${hash}::server:${token}` : token))
            : this.token;
        const joinSecrets = pulumi.interpolate`${joinToken}\n${this.agentToken}\n`;
        const { steps, prepare, install, removal, upgrade, version, prepared } = registerNodeSteps(this, name, "server", { ...args, upgradeAfter }, joinSecrets, {
            serverUrl: args.joinServer?.url,
            clusterInit: args.clusterInit,
            installAfter: args.joinServer ? [args.joinServer.install] : [],
            drainVia: args.joinServer,
            joiningNodes: args.joiningNodes,
            adminCredentialGeneration,
        });
        this.prepare = prepare;
        this.install = install;
        this.removal = removal;
        this.upgrade = upgrade;
        this.prepared = prepared;
        this.k3sVersion = version;
        this.configYaml = steps.configYaml;
        // The hash comes from the token k3s wrote, read by a step of its own: re-created when caGeneration changes, so
        // a CA rotated by hand reaches the agents' tokens without re-running the install.
        const readCaHash = new command.remote.Command(
            `${name}-ca-hash`,
            {
                connection: args.host.connection,
                create: toolkitCall("ca-hash", { "node-name": args.host.name }, args.host.sudo),
                triggers: [caGeneration],
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: [install] },
        );
        this.caHash = readCaHash.stdout.apply(caHashOf);
        this.agentJoinToken = pulumi.secret(pulumi.all([this.caHash, this.agentToken]).apply(([hash, agent]) => (hash ? `K10${hash}::node:${agent}` : agent)));

        const readKubeconfig = new command.remote.Command(
            `${name}-kubeconfig`,
            {
                connection: args.host.connection,
                create: steps.apply((s) => s.readKubeconfig!),
                triggers: [KUBECONFIG_TRIGGER],
                logging: "none",
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: [install], additionalSecretOutputs: ["stdout", "stderr"] },
        );
        // The step's output is secret and its logging off (it carries the key), so what it warns about on stderr - a
        // certificate that will expire, no openssl - is repeated here, where `pulumi up` shows it. Only our own lines.
        readKubeconfig.stderr.apply((text) => {
            for (const line of kubeconfigWarnings(text)) pulumi.log.warn(line, this);
        });
        const clusterName = args.clusterName ?? name;
        this.kubeconfig = pulumi.secret(
            pulumi
                .all([readKubeconfig.stdout, args.host.publicIp])
                .apply(([text, publicIp]) => kubeconfigForPublicEndpoint(text, publicIp, clusterName)),
        );

        this.registerOutputs({ url: this.url, configYaml: this.configYaml, kubeconfig: this.kubeconfig });
    }
}

/** A k3s agent joining a server over the server's public IP, advertising its own public IP. */
export class K3sAgent extends pulumi.ComponentResource {
    public readonly host: ClusterHost;
    public readonly configYaml: pulumi.Output<string>;
    public readonly prepare: command.remote.Command;
    public readonly install: command.remote.Command;
    /** Drains the agent through the server, deletes its Node and uninstalls k3s when it is removed from the stack. */
    public readonly removal: command.local.Command;
    /** Drains, upgrades and uncordons the agent when its version or config changes. */
    public readonly upgrade: command.local.Command;
    /** The host is prepared: the toolkit is there and WireGuard works. */
    public readonly prepared: pulumi.Resource;

    constructor(name: string, args: K3sAgentArgs, opts?: pulumi.ComponentResourceOptions) {
        if (!checkedAbove(args)) validateNodeArgs(name, args);
        super("k3s-multicloud:k3s:K3sAgent", name, {}, opts);
        this.host = args.host;
        // Agents depend on the server's install only, never on each other: they all install at once.
        const { steps, prepare, install, removal, upgrade, prepared } = registerNodeSteps(
            this,
            name,
            "agent",
            { ...args, upgradeAfter: [args.server.upgrade, ...(args.upgradeAfter ?? [])] },
            // Least privilege: the agent token, never the server token (which is cluster admin).
            pulumi.interpolate`${args.server.agentJoinToken}\n`,
            { serverUrl: args.server.url, installAfter: [args.server.install], drainVia: args.server },
        );
        this.upgrade = upgrade;
        this.prepared = prepared;
        this.prepare = prepare;
        this.install = install;
        this.removal = removal;
        this.configYaml = steps.configYaml;
        this.registerOutputs({ configYaml: this.configYaml });
    }
}
