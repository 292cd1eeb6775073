import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { ExistingServer } from "../../components/hosts/existingServer";
import { clusterNodeAddresses, hostFirewallSteps, InstalledNode, meshCheckSteps, pruneSteps } from "../../components/k3s/clusterSteps";
import { K3sAgent, K3sServer } from "../../components/k3s/k3sNode";
import { parseIpv4Cidr } from "../../components/validation/addresses";
import { managedAnnotations } from "../../components/annotations/managedAnnotations";
import { NodeAnnotations } from "../../components/annotations/nodeAnnotations";
import { clusterProvider } from "../../components/k3s/kubernetesProvider";

/**
 * The engine lab's program: the lab's three hosts as existing servers, one k3s server and two agents on them, with
 * the host firewalls, prunes and mesh checks K3sCluster gives every node - everything the command provider alone can
 * build (K3sCluster itself also registers a Kubernetes provider and node patches). Read from the stack's config
 * (namespace `lab`), which the engine lab writes: a user's program, run by the real engine.
 */

/** One lab node as the stack config lists it. */
export interface EngineLabNode {
    readonly name: string;
    readonly role: "server" | "agent";
    readonly publicIp: string;
    readonly privateIp: string;
    readonly location: string;
    readonly user: string;
    /** How it logs in: the secret lab:sshPrivateKey, or the secret lab:swasPassword (root). */
    readonly auth: "key" | "password";
    readonly hostKey: string;
    readonly labels?: Record<string, string>;
    readonly taints?: string[];
}

export const ENGINE_LAB_CLUSTER = "lab";

/**
 * Defects the engine lab plants on purpose (config `lab:breaks`) to show that a check catches them; each is a mistake a
 * program can make, and each breaks one check:
 * - duplicate-name: two steps under one name (runtime mocks accept it; the engine refuses the program);
 * - clock-in-a-step: a step input that changes on every run (a re-run is never quiet);
 * - coupled-nodes: every node's registration labels carry all nodes' taints (one node's change touches all);
 * - unpinned-home: the existing home server without its host key (insecureIgnoreHostKey);
 * - token-output: the agent token exported as a plain stack output (config.require, not requireSecret);
 * - private-kubeconfig: the Kubernetes provider given the server's own address (k3s.yaml's, as a naive program copies
 *   it), which the machine running pulumi cannot reach.
 */
export type ProgramBreak = "duplicate-name" | "clock-in-a-step" | "coupled-nodes" | "unpinned-home" | "token-output" | "private-kubeconfig";

class EngineLabCluster extends pulumi.ComponentResource {
    readonly kubeconfig: pulumi.Output<string>;
    readonly meshStatus: pulumi.Output<unknown>;
    readonly token: string | undefined;

    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("k3s-multicloud:lab:EngineLabCluster", name, {}, opts);
        const config = new pulumi.Config("lab");
        const nodes = config.requireObject<EngineLabNode[]>("nodes");
        const k3sVersion = config.require("k3sVersion");
        const dial = { dialErrorLimit: config.requireNumber("dialErrorLimit"), perDialTimeout: 5 };
        const readyTimeoutSeconds = config.requireNumber("readyTimeoutSeconds");
        const breaks = new Set(config.getObject<ProgramBreak[]>("breaks") ?? []);
        if (breaks.has("coupled-nodes")) {
            const all = createHash("sha256").update(JSON.stringify(nodes.map((n) => n.taints ?? []))).digest("hex").slice(0, 16);
            nodes.forEach((node) => Object.assign(node, { labels: { ...node.labels, "lab.example/all-taints": all } }));
        }
        const hosts = nodes.map((node) => {
            const credential =
                node.auth === "password" ? { password: config.requireSecret("swasPassword") } : { privateKey: config.requireSecret("sshPrivateKey") };
            const server = new ExistingServer(
                node.name,
                {
                    publicIp: node.publicIp,
                    privateIp: node.privateIp,
                    location: node.location,
                    user: node.user,
                    ...(breaks.has("unpinned-home") && node.name === "home-1" ? { insecureIgnoreHostKey: true } : { hostKey: node.hostKey }),
                    ssh: dial,
                    ...credential,
                },
                { parent: this },
            );
            return { node, host: server.host };
        });
        const [first, ...agents] = hosts;
        if (first?.node.role !== "server" || agents.some((a) => a.node.role !== "agent")) throw new Error("lab:nodes: the first node is the server, the others agents");

        const server = new K3sServer(
            `${name}-${first.node.name}`,
            {
                host: first.host,
                k3sVersion,
                token: config.requireSecret("token"),
                agentToken: config.requireSecret("agentToken"),
                clusterName: name,
                readyTimeoutSeconds,
                nodeLabels: first.node.labels,
                nodeTaints: first.node.taints,
                joiningNodes: agents.filter((a) => a.host.identity).map((a) => ({ name: a.host.name, identity: a.host.identity! })),
            },
            { parent: this },
        );
        const nodeAddresses = clusterNodeAddresses(hosts.map((h) => h.host));
        const firewall = hostFirewallSteps(this, name, {
            servers: [first.host],
            nodeAddresses,
            apiAllowedCidrs: config.requireObject<string[]>("apiAllowedCidrs").map((cidr, i) => parseIpv4Cidr(`lab:apiAllowedCidrs[${i}]`, cidr)),
            options: {},
        });
        const serverFirewall = firewall(first.host, "server", server.prepared);
        const agentNodes = agents.map(
            ({ node, host }) =>
                new K3sAgent(
                    `${name}-${node.name}`,
                    {
                        host,
                        k3sVersion,
                        server,
                        readyTimeoutSeconds,
                        nodeLabels: node.labels,
                        nodeTaints: node.taints,
                        installAfter: [serverFirewall],
                    },
                    { parent: this },
                ),
        );
        const agentFirewalls = agentNodes.map((agent) => firewall(agent.host, "agent", agent.prepared));
        const installed: InstalledNode[] = [
            { host: first.host, role: "server", settled: server.upgrade },
            ...agentNodes.map((agent): InstalledNode => ({ host: agent.host, role: "agent", settled: agent.upgrade })),
        ];
        // Node annotations as resources, as K3sCluster makes them (config lab:annotations, per node; public-ip-overwrite
        // from each node's public address): a real Kubernetes provider patching the lab's real API server.
        // As in K3sCluster, the mesh checks wait for the restarts an annotation change causes.
        const annotatedNodes: pulumi.Resource[] = [];
        const annotations = config.getObject<Record<string, Record<string, string>>>("annotations");
        if (annotations) {
            const kubeconfig = breaks.has("private-kubeconfig")
                ? server.kubeconfig.apply((text) => text.replace(/server: https:\/\/[^\s]+/, `server: https://${first.node.privateIp}:6443`))
                : server.kubeconfig;
            const provider = clusterProvider(name, kubeconfig, `k3s-multicloud-${name}`, this);
            const removals = [server.removal, ...agentNodes.map((agent) => agent.removal)];
            installed.forEach(({ host, role }, index) => {
                const annotated = new NodeAnnotations(
                    `${name}-${host.name}-metadata`,
                    {
                        nodeName: host.name,
                        annotations: host.publicIp.apply((ip) => managedAnnotations(`lab:annotations.${host.name}`, annotations[host.name] ?? {}, ip)),
                        provider,
                        registeredBy: removals[index],
                        // The lab's own key restarts k3s too, so a change shows the restart step.
                        restart: { connection: host.connection, sudo: host.sudo, role, restartKeys: ["lab.example/owner"], readyTimeoutSeconds },
                    },
                    { parent: this },
                );
                annotatedNodes.push(annotated.restart ?? annotated.patch);
            });
        }
        const prunes = pruneSteps(this, name, installed);
        this.meshStatus = meshCheckSteps(
            this,
            name,
            installed,
            nodeAddresses,
            [...installed.map((n) => n.settled), ...prunes, serverFirewall, ...agentFirewalls, ...annotatedNodes],
            config.requireNumber("meshTimeoutSeconds"),
        );
        if (breaks.has("duplicate-name")) new command.local.Command(`${name}-mesh-ready`, { create: "true" }, { parent: this });
        if (breaks.has("clock-in-a-step")) new command.local.Command(`${name}-clock`, { create: `true ${Date.now()}` }, { parent: this });
        this.token = breaks.has("token-output") ? config.require("agentToken") : undefined;
        this.kubeconfig = server.kubeconfig;
        this.registerOutputs({ kubeconfig: this.kubeconfig, meshStatus: this.meshStatus });
    }
}

/** The program: one cluster; its kubeconfig (secret) and what each node's mesh check saw. */
export default function engineLabProgram(): Record<string, pulumi.Output<unknown>> {
    const cluster = new EngineLabCluster(ENGINE_LAB_CLUSTER);
    return { kubeconfig: cluster.kubeconfig, meshStatus: cluster.meshStatus, ...(cluster.token ? { agentToken: pulumi.output(cluster.token) } : {}) };
}
