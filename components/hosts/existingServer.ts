import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../validation/configError";
import { validateIpv4, validatePort } from "../validation/addresses";
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

export interface ExistingServerArgs {
    /** The address the other nodes and SSH reach the server on, e.g. "203.0.113.10". */
    readonly publicIp: pulumi.Input<string>;
    /** The address on the server's own NIC. Default: `publicIp` (no NAT). */
    readonly privateIp?: pulumi.Input<string>;
    /** The site or region the server is in, e.g. "home-lab". */
    readonly location: string;
    /** SSH user. Default "root"; any other user runs the install steps through `sudo -n` (passwordless sudo). */
    readonly user?: string;
    /** SSH private key (secret). Give this or `password`. */
    readonly privateKey?: pulumi.Input<string>;
    /** SSH password (secret). Give this or `privateKey`. */
    readonly password?: pulumi.Input<string>;
    /** SSH port. Default 22. */
    readonly port?: number;
    /** Pin the server's SSH host key (e.g. "ssh-ed25519 AAAA..."); unpinned when absent. */
    readonly hostKey?: pulumi.Input<string>;
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

/**
 * A server you already have, reachable over SSH. No cloud resource is created or deleted; opening the cluster's ports
 * in whatever firewall is in front of it is up to you (README, "Ports").
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

        super("k3s-multicloud:hosts:ExistingServer", name, {}, opts);

        const publicIp = checkedAddress(field("publicIp"), args.publicIp);
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
                hostKey: args.hostKey,
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
