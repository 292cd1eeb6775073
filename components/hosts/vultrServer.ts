import * as vultr from "@ediri/vultr";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { parseIpv4Cidr } from "../validation/addresses";
import { ClusterHost, DialPolicy } from "./clusterHost";
import { secretSshConnection } from "./connection";
import { hostKeyStep, keyFromScan, pinnableKey, renderHostKeyUserData } from "./hostKeys";
import {
    fieldOf,
    requireExactlyOne,
    resolveNodeName,
    validateCredential,
    validateRegion,
    VULTR_REGION,
    validateSshPublicKey,
    validateVultrOsId,
} from "./validateHostArgs";

/** The operating system: a Vultr OS id, or looked up by its exact name. Exactly one. */
export type VultrOsChoice =
    | {
          /** Vultr OS id, a number (e.g. 2284 for Ubuntu 24.04 x64). */
          readonly osId: number;
          readonly osName?: undefined;
      }
    | {
          readonly osId?: undefined;
          /** OS looked up by its exact Vultr name, e.g. "Ubuntu 24.04 LTS x64". */
          readonly osName: string;
      };

/** A Vultr server: region, plan, SSH key, and one OS choice (required by type). */
export type VultrServerArgs = VultrServerBaseArgs & VultrOsChoice;

/** What every Vultr server takes besides its operating system. */
export interface VultrServerBaseArgs {
    /** Vultr region id, e.g. "ewr", "fra", "nrt". */
    readonly region: string;
    /** Vultr plan id, e.g. "vc2-1c-2gb". */
    readonly plan: string;
    /** OpenSSH public key installed for root, one line of a .pub file. */
    readonly sshPublicKey: string;
    /** The matching private key, used by the k3s install steps. Pass it as a secret. */
    readonly sshPrivateKey: pulumi.Input<string>;
    /** IPv4 blocks allowed to reach SSH (22/tcp). Default ["0.0.0.0/0"]. */
    readonly sshAllowedCidrs?: string[];
    /** Give the server an IPv6 address too. Default false. */
    readonly enableIpv6?: boolean;
    /** Vultr tags. */
    readonly tags?: string[];
    /** Attach the server to these VPCs; the first one's address then becomes the private IP. */
    readonly vpcIds?: pulumi.Input<string>[];
    /** Kubernetes node name (and hostname); defaults to the component name. */
    readonly nodeName?: string;
    /** How long SSH keeps trying while the server boots. */
    readonly ssh?: DialPolicy;
    /** The Vultr provider; default the stack's default provider (`vultr:apiKey` or VULTR_API_KEY). */
    readonly provider?: vultr.Provider;
}

/**
 * A Vultr cloud server as a cluster host. Its public address is on the NIC (no NAT), so it is both the public and,
 * unless a VPC is attached, the private IP.
 *
 * A firewall group is created with the SSH rule first: once a group is attached to an instance, Vultr drops every
 * inbound packet no rule matches, and the install steps need SSH.
 */
export class VultrServer extends pulumi.ComponentResource {
    public readonly host: ClusterHost;
    public readonly instance: vultr.Instance;
    public readonly sshKey: vultr.SSHKey;
    public readonly firewallGroup: vultr.FirewallGroup;
    public readonly sshRules: vultr.FirewallRule[];
    /** The server's SSH host key (secret private half), installed through user-data at create. */
    public readonly sshHostKey: tls.PrivateKey;
    /** Checks the key the server presents (the generated one, or learned on first use); every SSH session pins it. */
    public readonly hostKeyCheck: command.local.Command;
    public readonly publicIp: pulumi.Output<string>;
    public readonly privateIp: pulumi.Output<string>;

    constructor(name: string, args: VultrServerArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = "VultrServer";
        const nodeName = resolveNodeName(component, name, args.nodeName);
        const region = validateRegion(fieldOf(component, name, "region"), args.region, VULTR_REGION, "ewr");
        requireExactlyOne(fieldOf(component, name, "osId"), ["osId", args.osId], ["osName", args.osName]);
        if (args.osId !== undefined) validateVultrOsId(fieldOf(component, name, "osId"), args.osId);
        const sshPublicKey = validateSshPublicKey(fieldOf(component, name, "sshPublicKey"), args.sshPublicKey);
        validateCredential(
            fieldOf(component, name, "sshPrivateKey"),
            args.sshPrivateKey,
            "Pass the private key that matches sshPublicKey, e.g. `pulumi config set --secret ... < ~/.ssh/id_ed25519`.",
        );
        const sshCidrs = (args.sshAllowedCidrs ?? ["0.0.0.0/0"]).map((cidr, index) =>
            parseIpv4Cidr(fieldOf(component, name, `sshAllowedCidrs[${index}]`), cidr),
        );

        super("k3s-multicloud:hosts:VultrServer", name, {}, opts);
        // Said in every preview, not only in the offline plan: what is reachable from anywhere.
        if (sshCidrs.some((c) => c.prefix === 0)) {
            pulumi.log.warn(`${name}: SSH (22/tcp) is open to the whole internet (sshAllowedCidrs 0.0.0.0/0); narrow it to where you administer from.`, this);
        }
        const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider };

        // The server's SSH host key, generated here and installed through user-data (the authenticated Vultr API), so
        // the first SSH session already knows whom it talks to.
        this.sshHostKey = new tls.PrivateKey(`${name}-ssh-host-key`, { algorithm: "ED25519" }, { parent: this });
        this.sshKey = new vultr.SSHKey(`${name}-ssh-key`, { name: nodeName, sshKey: sshPublicKey }, childOpts);
        this.firewallGroup = new vultr.FirewallGroup(
            `${name}-firewall`,
            { description: `k3s-multicloud ${nodeName}` },
            childOpts,
        );
        this.sshRules = sshCidrs.map(
            (cidr, index) =>
                new vultr.FirewallRule(
                    `${name}-ssh-${index}`,
                    {
                        firewallGroupId: this.firewallGroup.id,
                        protocol: "tcp",
                        ipType: "v4",
                        subnet: cidr.address,
                        subnetSize: cidr.prefix,
                        port: "22",
                        notes: "ssh for k3s-multicloud",
                    },
                    childOpts,
                ),
        );

        const osId =
            args.osId ??
            vultr
                .getOsOutput({ filters: [{ name: "name", values: [args.osName!] }] }, { parent: this, provider: args.provider })
                .apply((os) => Number(os.id));

        this.instance = new vultr.Instance(
            `${name}-instance`,
            {
                region,
                plan: args.plan,
                osId,
                label: nodeName,
                hostname: nodeName,
                sshKeyIds: [this.sshKey.id],
                firewallGroupId: this.firewallGroup.id,
                enableIpv6: args.enableIpv6 ?? false,
                // The provider's default has flipped between releases; say it, so nobody pays for backups unasked.
                backups: "disabled",
                tags: args.tags,
                vpcIds: args.vpcIds,
                // (No key material - only under test mocks that return none - gives no user-data rather than a throw.)
                userData: pulumi.secret(
                    pulumi.all([this.sshHostKey.privateKeyOpenssh, this.sshHostKey.publicKeyOpenssh]).apply(([priv, pub]) => (priv && pub ? renderHostKeyUserData(priv, pub) : "")),
                ),
            },
            // The SSH rule must exist before the group is attached, or the first SSH dial is dropped. User-data forces a
            // new instance when it changes: a server created before this project set it keeps its own (and its key is
            // then trusted on first use, below), and a rotated key never replaces a server.
            { ...childOpts, dependsOn: this.sshRules, ignoreChanges: ["userData"] },
        );
        // The generated key, if this instance was created with it (its user-data carries it); otherwise none.
        const generated = pulumi.all([this.instance.userData, this.sshHostKey.publicKeyOpenssh]).apply(([userData, pub]) => {
            const key = pinnableKey(pub ?? "");
            if (!key) return undefined; // no key material: test mocks that return none
            if ((userData ?? "").includes(key)) return key;
            pulumi.log.warn(
                `${nodeName}: its SSH host key is trusted on first use: the server was created before k3s-multicloud installed a generated host key through user-data (changing it would replace the server), so the key it presents now is recorded in state and pinned from then on.`,
                this,
            );
            return undefined;
        });
        // Only a public key comes out of the (secret) user-data comparison: the check's inputs stay readable in previews.
        this.hostKeyCheck = hostKeyStep(this, name, { nodeName, host: this.instance.mainIp, expected: pulumi.unsecret(generated), identity: this.instance.id, dependsOn: [this.instance] });

        this.publicIp = this.instance.mainIp;
        this.privateIp = args.vpcIds && args.vpcIds.length > 0 ? this.instance.internalIp : this.instance.mainIp;

        this.host = {
            name: nodeName,
            provider: "vultr",
            location: region,
            publicIp: this.publicIp,
            privateIp: this.privateIp,
            behindNat: false,
            connection: secretSshConnection({
                host: this.publicIp,
                user: "root",
                privateKey: args.sshPrivateKey,
                hostKey: this.hostKeyCheck.stdout.apply(keyFromScan),
                dial: args.ssh,
            }),
            sudo: false,
            firewall: {
                kind: "vultr-firewall-group",
                firewallGroupId: this.firewallGroup.id,
                provider: args.provider,
                reservedRules: this.sshRules.length,
                maxRuleCount: this.firewallGroup.maxRuleCount,
            },
            ready: this.hostKeyCheck,
            identity: this.instance.id,
        };

        this.registerOutputs({
            instanceId: this.instance.id,
            firewallGroupId: this.firewallGroup.id,
            publicIp: this.publicIp,
            privateIp: this.privateIp,
        });
    }
}
