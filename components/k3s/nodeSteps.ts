import { renderHostCommand } from "./hostCommand";
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
}

/** The rendered config and the exact command text of each remote step of one node. */
export interface NodeSteps {
    readonly configYaml: string;
    readonly prepare: string;
    readonly install: string;
    readonly uninstall: string;
    /** Servers only: prints the admin kubeconfig. */
    readonly readKubeconfig?: string;
}

/**
 * Renders a node's steps. Pure: the command texts are what `@pulumi/command` stores and diffs, so equal input must
 * give equal text or every `pulumi up` would re-run the steps.
 */
export function renderNodeSteps(input: NodeStepsInput): NodeSteps {
    const { config } = input;
    const configYaml = renderNodeConfig(config);
    const node = { K3SMC_NODE_NAME: config.nodeName };
    return {
        configYaml,
        prepare: renderPrepareCommand(config.nodeName, config.options, input.sudo),
        install: renderHostCommand(
            "install",
            {
                ...node,
                K3SMC_ROLE: config.role,
                K3SMC_VERSION: input.version,
                K3SMC_MIRROR: input.mirror,
                K3SMC_CONFIG: configYaml,
                K3SMC_READY_TIMEOUT: String(input.readyTimeoutSeconds),
            },
            input.sudo,
        ),
        uninstall: renderHostCommand("uninstall", { ...node, K3SMC_ROLE: config.role }, input.sudo),
        ...(config.role === "server" ? { readKubeconfig: renderHostCommand("read-kubeconfig", node, input.sudo) } : {}),
    };
}

/**
 * The prepare step needs no address, so it renders from plain values: it can run as soon as the host exists, while
 * the server is still installing.
 */
export function renderPrepareCommand(nodeName: string, options: K3sOptions, sudo: boolean): string {
    return renderHostCommand(
        "prepare",
        {
            K3SMC_NODE_NAME: nodeName,
            K3SMC_KUBE_PROXY_MODE: options.kubeProxyMode ?? "iptables",
            ...(options.wireguardKernel === "upgrade" ? { K3SMC_KERNEL_POLICY: "upgrade" } : {}),
        },
        sudo,
    );
}

/** The boot id a prepare step printed when it scheduled a reboot for a kernel upgrade, or "none". */
export function scheduledRebootBootId(prepareOutput: string): string {
    return /^# reboot-scheduled (\S+)$/m.exec(prepareOutput)?.[1] ?? "none";
}

/** The step after a possible kernel-upgrade reboot: prepare again, checking the reboot happened. */
export function renderReprobeCommand(nodeName: string, options: K3sOptions, sudo: boolean, previousBootId: string): string {
    return renderHostCommand(
        "prepare",
        { K3SMC_NODE_NAME: nodeName, K3SMC_KUBE_PROXY_MODE: options.kubeProxyMode ?? "iptables", K3SMC_PREVIOUS_BOOT_ID: previousBootId },
        sudo,
    );
}
