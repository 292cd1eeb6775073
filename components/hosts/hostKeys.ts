import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { keyscanCommand } from "../toolkit/bundle";
import { requireLocalSshPrograms } from "./localTools";

/** The comment that marks user-data carrying a host key this project generated. */
export const HOST_KEY_USER_DATA_HEADER = "# k3s-multicloud: the SSH host key every step pins (generated in the stack, secret).";

/**
 * cloud-init user-data that makes a new server use the given ed25519 SSH host key (cloud-init's ssh module, before
 * sshd first starts) and no other: the image's keys are deleted and none is generated. The private key makes this
 * text a secret.
 */
export function renderHostKeyUserData(privateKeyOpenssh: string, publicKeyOpenssh: string): string {
    const privateLines = privateKeyOpenssh.trim().split("\n").map((line) => `    ${line}`);
    return [
        "#cloud-config",
        HOST_KEY_USER_DATA_HEADER,
        "ssh_deletekeys: true",
        "ssh_genkeytypes: []",
        "ssh_keys:",
        "  ed25519_private: |",
        ...privateLines,
        `  ed25519_public: ${publicKeyOpenssh.trim()}`,
        "",
    ].join("\n");
}

/** An OpenSSH public key line reduced to what a pinned `hostKey` holds: type and key, no comment. */
export function pinnableKey(publicKeyOpenssh: string): string {
    return publicKeyOpenssh.trim().split(/\s+/).slice(0, 2).join(" ");
}

export interface HostKeyStepArgs {
    readonly nodeName: string;
    readonly host: pulumi.Input<string>;
    readonly port?: number;
    /** The key the host must present (generated here and installed through an authenticated channel); absent: trust on first use. */
    readonly expected?: pulumi.Input<string | undefined>;
    /** A new machine (another id) learns its key again. */
    readonly identity: pulumi.Input<string>;
    /** How long the host may take to boot before it answers. Default 600 s. */
    readonly waitSeconds?: number;
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * The step that learns a host's SSH host key from the machine running `pulumi` before any SSH session (keyscan.sh):
 * it checks the generated key where there is one, or records the first key seen; its output is what every session
 * to the host pins from then on. It sends nothing to the host but the SSH greeting.
 */
export function hostKeyStep(parent: pulumi.Resource, name: string, args: HostKeyStepArgs): command.local.Command {
    requireLocalSshPrograms();
    return new command.local.Command(
        `${name}-host-key-check`,
        {
            create: keyscanCommand(),
            environment: pulumi.all([args.host, args.expected]).apply(([host, expected]) => ({
                K3SMC_NODE_NAME: args.nodeName,
                K3SMC_HOST: host,
                K3SMC_PORT: String(args.port ?? 22),
                K3SMC_WAIT_SECONDS: String(args.waitSeconds ?? 600),
                ...(expected ? { K3SMC_EXPECTED_HOST_KEY: expected } : {}),
            })),
            triggers: [args.identity],
            addPreviousOutputInEnv: false,
        },
        { parent, dependsOn: args.dependsOn },
    );
}

/** The pinned key a host-key step printed (empty when it has not run, e.g. under test mocks). */
export function keyFromScan(stdout: string | undefined): string | undefined {
    const key = (stdout ?? "").trim().split("\n")[0]?.trim();
    return key ? key : undefined;
}
