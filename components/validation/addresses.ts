import { ConfigError } from "./configError";

const IPV4_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

/** True for a dotted-quad IPv4 address without leading zeros (which some parsers read as octal). */
export function isIpv4(value: string): boolean {
    return IPV4.test(value);
}

/** An IPv4 address, e.g. a host's public or private address. */
export function validateIpv4(field: string, value: unknown): string {
    if (typeof value !== "string" || !isIpv4(value)) {
        throw new ConfigError(
            field,
            value,
            "is not an IPv4 address",
            "Write it as four numbers from 0 to 255 separated by dots, e.g. \"203.0.113.10\".",
        );
    }
    return value;
}

/** An IPv4 CIDR block split into the parts firewall APIs want. */
export interface Ipv4Cidr {
    /** The network address, e.g. "203.0.113.0". */
    readonly address: string;
    /** The prefix length, 0 to 32. */
    readonly prefix: number;
}

/**
 * An IPv4 CIDR such as "203.0.113.0/24". A bare address means a /32. Host bits must be zero, because firewall
 * APIs either reject or silently widen such a block and the user should see which one they meant.
 */
export function parseIpv4Cidr(field: string, value: unknown): Ipv4Cidr {
    if (typeof value !== "string") {
        throw new ConfigError(field, value, "is not an IPv4 CIDR", "Write it as address/prefix, e.g. \"203.0.113.0/24\".");
    }
    const [address, prefixText, ...rest] = value.split("/");
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    if (
        rest.length > 0 ||
        !isIpv4(address) ||
        (prefixText !== undefined && !/^[0-9]{1,2}$/.test(prefixText)) ||
        prefix > 32
    ) {
        throw new ConfigError(field, value, "is not an IPv4 CIDR", "Write it as address/prefix, e.g. \"203.0.113.0/24\".");
    }
    const network = networkAddress(address, prefix);
    if (network !== address) {
        throw new ConfigError(
            field,
            value,
            `has host bits set below the /${prefix} prefix`,
            `Use the network address: "${network}/${prefix}".`,
        );
    }
    return { address, prefix };
}

function networkAddress(address: string, prefix: number): string {
    const size = 2 ** (32 - prefix);
    const network = Math.floor(toNumber(address) / size) * size;
    return [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
}

/** A TCP port for SSH and similar, 1 to 65535. */
export function validatePort(field: string, value: unknown): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
        throw new ConfigError(field, value, "is not a TCP port", "Use a whole number from 1 to 65535, e.g. 22.");
    }
    return value;
}

/** Private IPv4 space a pod or service network may use: RFC 1918 and the shared address space of RFC 6598. */
const PRIVATE_BLOCKS: readonly Ipv4Cidr[] = [
    { address: "10.0.0.0", prefix: 8 },
    { address: "172.16.0.0", prefix: 12 },
    { address: "192.168.0.0", prefix: 16 },
    { address: "100.64.0.0", prefix: 10 },
];

function toNumber(address: string): number {
    return address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** True when block `inner` lies inside block `outer`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
    if (inner.prefix < outer.prefix) return false;
    const size = 2 ** (32 - outer.prefix);
    return Math.floor(toNumber(inner.address) / size) === Math.floor(toNumber(outer.address) / size);
}

/**
 * k3s' `cluster-cidr` (pods) or `service-cidr`. Each node's host firewall accepts k3s' ports from these blocks, so a
 * wide or public block would open them to strangers (0.0.0.0/0 opened every port); the bounds are Kubernetes' own:
 * each node takes a /24 of the pod network (node-cidr-mask-size), and kube-apiserver refuses an IPv4 service range
 * wider than /12. IPv4 only: k3s will not start a dual-stack pod network on a node whose node-ip is IPv4 alone ("cluster-cidr
 * and node-ip must share the same IP version", k3s #11735), dual-stack cannot be turned on later (k3s docs,
 * networking/basic-network-options), and the nodes here are addressed, meshed and firewalled by IPv4. Refused here
 * and again by the host firewall, so an IPv6 half never reaches nftables' IPv4 sets.
 */
export function parsePodNetworkCidr(field: string, value: unknown, kind: "cluster-cidr" | "service-cidr"): Ipv4Cidr {
    const example = kind === "cluster-cidr" ? "10.42.0.0/16" : "10.43.0.0/16";
    if (typeof value === "string" && value.includes(":")) {
        throw new ConfigError(
            field,
            value,
            "holds an IPv6 block (dual-stack): k3s refuses to start when cluster-cidr and node-ip differ in IP version, and every node here has one IPv4 node-ip (and one IPv4 public address for the WireGuard mesh)",
            `Use one IPv4 block, e.g. "${example}".`,
        );
    }
    const cidr = parseIpv4Cidr(field, value);
    const [min, max] = kind === "cluster-cidr" ? [8, 23] : [12, 28];
    if (cidr.prefix < min || cidr.prefix > max) {
        throw new ConfigError(field, value, `is a /${cidr.prefix}; a ${kind} must be from /${min} to /${max}`, `Use e.g. "${example}".`);
    }
    if (!PRIVATE_BLOCKS.some((block) => cidrContains(block, cidr))) {
        throw new ConfigError(
            field,
            value,
            "is not private address space, and every node's firewall accepts k3s' ports from it",
            `Use a block inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10, e.g. "${example}".`,
        );
    }
    return cidr;
}

/** True for an address in private space (RFC 1918, RFC 6598): not reachable from another cloud. */
export function isPrivateIpv4(address: string): boolean {
    if (!isIpv4(address)) return false;
    return PRIVATE_BLOCKS.some((block) => cidrContains(block, { address, prefix: 32 }));
}
