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
    const value = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - prefix);
    const network = Math.floor(value / size) * size;
    return [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
}

/** A TCP port for SSH and similar, 1 to 65535. */
export function validatePort(field: string, value: unknown): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
        throw new ConfigError(field, value, "is not a TCP port", "Use a whole number from 1 to 65535, e.g. 22.");
    }
    return value;
}
