import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../validation/configError";
import { isPrivateIpv4, validateIpv4, validatePort } from "../validation/addresses";
import { ClusterHost, DialPolicy } from "./clusterHost";
import { secretSshConnection } from "./connection";
import {
    fieldOf,
    requireExactlyOne,
    resolveNodeName,
    validateCredential,
    validateLocation,
    validateUnixUser,
} from "./validateHostArgs";

/** The arguments every existing server takes; with one credential and one host-key choice, `ExistingServerArgs`. */
export interface ExistingServerBaseArgs {
    /** The address the other nodes and SSH reach the server on, e.g. "203.0.113.10". */
    readonly publicIp: pulumi.Input<string>;
    /** The address on the server's own NIC. Default: `publicIp` (no NAT). */
    readonly privateIp?: pulumi.Input<string>;
    /** The site or region the server is in, e.g. "home-lab". */
    readonly location: string;
    /** SSH user. Default "root"; any other user runs the install steps through `sudo -n` (passwordless sudo). */
    readonly user?: string;
    /** SSH port. Default 22. */
    readonly port?: number;
    /**
     * True when the public IP is not on the NIC (1:1 NAT, or a router's port forward). Default: whether `privateIp`
     * differs from `publicIp`. Required when either address is an Output, since then they cannot be compared here.
     */
    readonly behindNat?: boolean;
    /** Kubernetes node name; defaults to the component name. */
    readonly nodeName?: string;
    /** How long SSH keeps trying. */
    readonly ssh?: DialPolicy;
}

/** How the server's SSH host key is trusted: pinned (`hostKey`), or, when you say so, not checked at all. */
export type ExistingServerHostKey =
    | {
          /**
           * The server's SSH host public key, pinned for every SSH session (e.g. "ssh-ed25519 AAAA..."; read it on the
           * server from /etc/ssh/ssh_host_ed25519_key.pub).
           */
          readonly hostKey: pulumi.Input<string>;
          readonly insecureIgnoreHostKey?: false;
      }
    | {
          readonly hostKey?: undefined;
          /**
           * Connect without checking the host key: whoever answers at the address gets the credentials, the join
           * token and every command. Every preview warns about it.
           */
          readonly insecureIgnoreHostKey: true;
      };

/** How to log in: a private key or a password (secrets), exactly one. */
export type ExistingServerCredential =
    | {
          /** SSH private key (secret). */
          readonly privateKey: pulumi.Input<string>;
          readonly password?: undefined;
      }
    | {
          readonly privateKey?: undefined;
          /** SSH password (secret). */
          readonly password: pulumi.Input<string>;
      };

/** A server reachable over SSH: its addresses, one credential, and how its host key is trusted (both required by type). */
export type ExistingServerArgs = ExistingServerBaseArgs & ExistingServerHostKey & ExistingServerCredential;

/**
 * A server you already have, reachable over SSH. No cloud resource is created or deleted; opening the cluster's ports
 * in whatever firewall is in front of it is up to you (docs/security.md, "Ports").
 */
export class ExistingServer extends pulumi.ComponentResource {
    public readonly host: ClusterHost;

    constructor(name: string, args: ExistingServerArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = "ExistingServer";
        const field = (arg: string) => fieldOf(component, name, arg);
        const nodeName = resolveNodeName(component, name, args.nodeName);
        const location = validateLocation(field("location"), args.location);
        const user = validateUnixUser(field("user"), args.user ?? "root");
        const port = validatePort(field("port"), args.port ?? 22);
        requireExactlyOne(field("privateKey"), ["privateKey", args.privateKey], ["password", args.password]);
        const credentialField = args.privateKey !== undefined ? "privateKey" : "password";
        validateCredential(
            field(credentialField),
            args.privateKey ?? args.password,
            `Set it as a secret: \`pulumi config set --secret\` and pass the value with config.requireSecret().`,
        );
        const behindNat = deriveBehindNat(field, args.publicIp, args.privateIp, args.behindNat);
        const hostKey = args.hostKey === undefined ? undefined : validateHostKey(field("hostKey"), args.hostKey);
        if (hostKey !== undefined && args.insecureIgnoreHostKey) {
            throw new ConfigError(
                field("insecureIgnoreHostKey"),
                true,
                "contradicts hostKey, which pins the server's key",
                "Remove insecureIgnoreHostKey: with hostKey set, every session checks the key.",
            );
        }
        if (hostKey === undefined && !args.insecureIgnoreHostKey) {
            const where = typeof args.publicIp === "string" ? `${args.publicIp}:${port}` : `the server's address, port ${port}`;
            throw new ConfigError(
                field("hostKey"),
                undefined,
                `is required: without it SSH trusts whatever answers at ${where}, which then receives the SSH credentials, the join token and every command`,
                "Set it to the server's host public key (on the server: cat /etc/ssh/ssh_host_ed25519_key.pub; or ssh-keyscan -t ed25519 from a network you trust), or set insecureIgnoreHostKey: true to accept the risk.",
            );
        }

        super("k3s-multicloud:hosts:ExistingServer", name, {}, opts);
        if (hostKey === undefined) {
            pulumi.log.warn(
                `${nodeName}: SSH to this existing server does not check its host key (insecureIgnoreHostKey): whoever answers at its address receives the SSH credentials, the join token and every command. Set hostKey to pin it.`,
                this,
            );
        }

        const publicIp = checkedAddress(field("publicIp"), args.publicIp);
        if (typeof args.publicIp === "string" && isPrivateIpv4(args.publicIp)) {
            pulumi.log.warn(
                `${nodeName}: publicIp ${args.publicIp} is a private address: nodes in other clouds cannot reach it, so WireGuard between them and ${nodeName} will not form. Give the address the internet sees (the router's, with 22/tcp, 51820/udp and 10250/tcp forwarded), and the private one as privateIp.`,
                this,
            );
        }
        const privateIp = checkedAddress(field("privateIp"), args.privateIp ?? args.publicIp);

        this.host = {
            name: nodeName,
            provider: "existing",
            location,
            publicIp,
            privateIp,
            behindNat,
            connection: secretSshConnection({
                host: publicIp,
                port,
                user,
                privateKey: args.privateKey,
                password: args.password,
                hostKey,
                dial: args.ssh,
            }),
            sudo: user !== "root",
            firewall: { kind: "none" },
            ready: this,
            // Nothing tells a re-installed machine from the old one but its owner: its address stands for it.
            identity: publicIp,
        };

        this.registerOutputs({ publicIp, privateIp });
    }
}

/** Plain addresses are checked now; addresses known only later are checked when they resolve. */
function checkedAddress(field: string, address: pulumi.Input<string>): pulumi.Output<string> {
    if (typeof address === "string") return pulumi.output(validateIpv4(field, address));
    return pulumi.output(address).apply((value) => validateIpv4(field, value));
}

/** The NAT flag must be a plain boolean (it decides the rendered config), so it is derived from plain addresses only. */
export function deriveBehindNat(
    field: (arg: string) => string,
    publicIp: pulumi.Input<string>,
    privateIp: pulumi.Input<string> | undefined,
    behindNat: boolean | undefined,
): boolean {
    if (typeof publicIp === "string") validateIpv4(field("publicIp"), publicIp);
    if (typeof privateIp === "string") validateIpv4(field("privateIp"), privateIp);
    if (behindNat !== undefined) return behindNat;
    if (typeof publicIp !== "string" || (privateIp !== undefined && typeof privateIp !== "string")) {
        throw new ConfigError(
            field("behindNat"),
            undefined,
            "cannot be derived while publicIp or privateIp is known only after deployment",
            "Set behindNat to true when the public IP is not on the server's NIC, else false.",
        );
    }
    return privateIp !== undefined && privateIp !== publicIp;
}

const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}$/;

/**
 * A host key in authorized_keys form, without the comment (what the command provider's `hostKey` and a known_hosts
 * line take). Outputs are checked when they resolve.
 */
function validateHostKey(field: string, key: pulumi.Input<string>): pulumi.Input<string> {
    const check = (value: string) => {
        const [type, body] = value.trim().split(/\s+/);
        const bare = `${type} ${body}`;
        if (!HOST_KEY.test(bare)) {
            throw new ConfigError(field, value, "is not an SSH public key", 'Give the line of /etc/ssh/ssh_host_ed25519_key.pub, e.g. "ssh-ed25519 AAAAC3Nza...".');
        }
        return bare;
    };
    return typeof key === "string" ? check(key) : pulumi.output(key).apply(check);
}
