import { deliveryCommand, shippedToolkit, ToolkitBundle } from "../toolkit/bundle";
import { nodeFingerprint, toolkitArgs, toolkitCall } from "../toolkit/contract";
import { NodeConfigInput, renderNodeConfig } from "./nodeConfig";
import { K3sOptions } from "./options";

/** Everything a node's remote steps need, resolved to plain values. */
export interface NodeStepsInput {
    readonly config: NodeConfigInput;
    /** Pinned k3s release, e.g. "v1.33.6+k3s1". */
    readonly version: string;
    readonly mirror: "github" | "cn";
    /** The SSH user is not root. */
    readonly sudo: boolean;
    readonly readyTimeoutSeconds: number;
    /** Mainland China nodes: their registries.yaml (docker.io mirrors). */
    readonly registries?: string;
    /** Servers: `name=identity,...` of the nodes joining through it (replaced machines are forgotten). */
    readonly nodeIdentities?: string;
    /** Servers: the admin credential's generation (the kubeconfig's identity is k3s-multicloud-admin-<N>). */
    readonly adminCredentialGeneration?: number;
}

/** The rendered config and the toolkit calls of one node's steps. */
export interface NodeSteps {
    readonly configYaml: string;
    /** sha256 of version and config.yaml: what the upgrade step compares with the host's. */
    readonly fingerprint: string;
    readonly install: string;
    readonly uninstall: string;
    /** Prints the host's fingerprint (the upgrade step's first question). */
    readonly readFingerprint: string;
    /** Applies the change the install step staged (the upgrade step, between drain and uncordon). */
    readonly applyStaged: string;
    /** Servers only: prints the admin kubeconfig. */
    readonly readKubeconfig?: string;
}

/**
 * Renders a node's steps as short toolkit calls whose arguments are the data a reviewer cares about. Pure: the
 * command texts are what `@pulumi/command` stores and diffs, so equal input must give equal text or every
 * `pulumi up` would re-run the steps. No script text is in them: a toolkit change changes only the prepare step.
 */
export function renderNodeSteps(input: NodeStepsInput): NodeSteps {
    const { config, sudo } = input;
    const configYaml = renderNodeConfig(config);
    const node = { "node-name": config.nodeName };
    return {
        configYaml,
        fingerprint: nodeFingerprint(input.version, configYaml),
        install: toolkitCall(
            "install",
            {
                ...node,
                role: config.role,
                version: input.version,
                mirror: input.mirror,
                "ready-timeout": input.readyTimeoutSeconds,
                ...(config.role === "server" && input.nodeIdentities ? { "node-identities": input.nodeIdentities } : {}),
                ...(input.registries ? { registries: input.registries } : {}),
                config: configYaml,
            },
            sudo,
        ),
        uninstall: toolkitCall("uninstall", { ...node, role: config.role }, sudo),
        readFingerprint: toolkitCall("fingerprint", node, sudo),
        applyStaged: toolkitCall(
            "apply",
            { ...node, role: config.role, fingerprint: nodeFingerprint(input.version, configYaml), "ready-timeout": input.readyTimeoutSeconds },
            sudo,
        ),
        ...(config.role === "server" ? { readKubeconfig: toolkitCall("kubeconfig", { ...node, "credential-generation": input.adminCredentialGeneration }, sudo) } : {}),
    };
}

function prepareFlags(nodeName: string, options: K3sOptions) {
    return {
        "node-name": nodeName,
        "kube-proxy-mode": options.kubeProxyMode ?? "iptables",
        ...(options.wireguardKernel === "upgrade" ? { "kernel-policy": "upgrade" } : {}),
    };
}

/**
 * The prepare step delivers the toolkit (stdin: the bundle) and runs its prepare verb in one SSH session. It needs
 * no address, so it renders from plain values and runs as soon as the host exists.
 */
export function renderPrepareCommand(nodeName: string, options: K3sOptions, sudo: boolean, bundle: ToolkitBundle = shippedToolkit()): string {
    return deliveryCommand(bundle, toolkitArgs("prepare", prepareFlags(nodeName, options)), sudo);
}

/** The boot id a prepare step printed when it scheduled a reboot for a kernel upgrade, or "none". */
export function scheduledRebootBootId(prepareOutput: string): string {
    return /^# reboot-scheduled (\S+)$/m.exec(prepareOutput)?.[1] ?? "none";
}

/** The step after a possible kernel-upgrade reboot: prepare again, checking the reboot happened. */
export function renderReprobeCommand(nodeName: string, options: K3sOptions, sudo: boolean, previousBootId: string): string {
    const { "kernel-policy": _policy, ...flags } = prepareFlags(nodeName, options);
    void _policy;
    return toolkitCall("prepare", { ...flags, "previous-boot-id": previousBootId }, sudo);
}

/** The server CA's sha256 a server's install step printed (`# ca-hash <hex>`), or "" when it printed none. */
export function caHashOf(installOutput: string | undefined): string {
    return /^# ca-hash ([0-9a-f]{64})$/m.exec(installOutput ?? "")?.[1] ?? "";
}
