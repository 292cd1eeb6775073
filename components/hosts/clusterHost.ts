import * as pulumi from "@pulumi/pulumi";

import type { NodeCloud } from "../spec/vocabulary";

/** Where a host comes from: "aliyun", "vultr" or "existing" (one declaration with the cluster spec's `cloud`). */
export type HostProvider = NodeCloud;

/**
 * What the cluster needs to open ports for a host. The cluster adds its rules to the cloud firewall that the host
 * component already created (or, for a server we do not manage, documents what the owner must open).
 */
export type FirewallHandle =
    | {
          /** Alibaba SWAS: rules are attached to the instance itself, through the regional provider. */
          readonly kind: "aliyun-swas";
          readonly instanceId: pulumi.Output<string>;
          readonly provider: pulumi.ProviderResource;
      }
    | {
          /** Vultr: rules go into the firewall group attached to the instance. */
          readonly kind: "vultr-firewall-group";
          readonly firewallGroupId: pulumi.Output<string>;
          readonly provider?: pulumi.ProviderResource;
          /** Rules the host component already put in the group (SSH): they count against its limit too. */
          readonly reservedRules?: number;
          /** How many rules the group may hold, as the Vultr API reports it (known once the group exists). */
          readonly maxRuleCount?: pulumi.Output<number>;
      }
    | {
          /** An existing server: its firewall is the owner's business. */
          readonly kind: "none";
      };

/**
 * How `@pulumi/command` reaches a host. A plain structure so it can be wrapped in one secret Output: it holds the
 * password or private key.
 */
export interface SshConnection {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password?: string;
    readonly privateKey?: string;
    /** The host key to pin (authorized_keys format, e.g. "ssh-ed25519 AAAA..."); unpinned when absent. */
    readonly hostKey?: string;
    readonly dialErrorLimit: number;
    readonly perDialTimeout: number;
}

/**
 * How long SSH keeps trying before it gives up on a host. A new VM (and a SWAS server rebooting after its password
 * reset) refuses connections for a minute or two; the provider default (10 attempts, about 11 s) is too short.
 */
export interface DialPolicy {
    /** Failed dial attempts before the command fails. Default 60. */
    readonly dialErrorLimit?: number;
    /** Seconds one dial attempt may take. Default 15. */
    readonly perDialTimeout?: number;
}

export const DEFAULT_DIAL_POLICY: Required<DialPolicy> = { dialErrorLimit: 60, perDialTimeout: 15 };

/**
 * The contract every host component exposes as `.host`: the same shape whatever cloud the server is in, so the k3s
 * and cluster components never ask where a host comes from.
 */
export interface ClusterHost {
    /** The Kubernetes node name (a DNS-1123 label): the component's name unless `nodeName` was given. */
    readonly name: string;
    readonly provider: HostProvider;
    /** Region or site, e.g. "cn-hangzhou", "ewr" or "home-lab". Servers of one cluster must share it. */
    readonly location: string;
    /** The address other clouds reach the host on; advertised as node-external-ip. */
    readonly publicIp: pulumi.Output<string>;
    /** The address on the host's own network interface; used as node-ip. */
    readonly privateIp: pulumi.Output<string>;
    /** True when the public IP is not on the NIC (1:1 NAT), as on Alibaba SWAS. */
    readonly behindNat: boolean;
    /** SSH connection for `@pulumi/command`; secret, since it carries the password or private key. */
    readonly connection: pulumi.Output<SshConnection>;
    /** True when the SSH user is not root, so commands on the host run through `sudo -n`. */
    readonly sudo: boolean;
    /** Where the cluster adds its firewall rules. */
    readonly firewall: FirewallHandle;
    /** The resource node-level resources (k3s install, annotations) depend on. */
    readonly ready: pulumi.Resource;
    /**
     * What changes when the machine is replaced: the cloud's instance id, or an existing server's address. Steps that
     * must run again on a new machine under the same name (the toolkit delivery) are keyed to it. Optional for
     * hosts built by hand.
     */
    readonly identity?: pulumi.Output<string>;
}
