/** Parsers for what `wg` prints about flannel's WireGuard interface. Pure: tested against recorded output. */

export interface WgEndpoint {
    readonly host: string;
    readonly port: number;
}

export interface WgPeer {
    readonly publicKey: string;
    /** null when the peer's endpoint was never learned (`(none)`). */
    readonly endpoint: WgEndpoint | null;
    /** Empty when the peer routes nothing (`(none)`): a stale peer. */
    readonly allowedIps: readonly string[];
    /** Unix seconds of the latest handshake; 0 = never. */
    readonly latestHandshake: number;
}

export interface WgInterface {
    readonly publicKey: string;
    readonly listenPort: number;
    readonly peers: readonly WgPeer[];
}

function parseEndpoint(text: string): WgEndpoint | null {
    if (text === "(none)" || text === "") return null;
    const match = /^\[?([^\]]+)\]?:([0-9]+)$/.exec(text);
    if (!match) throw new Error(`cannot read WireGuard endpoint "${text}"`);
    return { host: match[1], port: Number(match[2]) };
}

function parseAllowedIps(text: string): string[] {
    return text === "(none)" || text === "" ? [] : text.split(",").map((ip) => ip.trim());
}

/**
 * `wg show <interface> dump`: a tab-separated line for the interface (private key, public key, port, fwmark), then
 * one per peer (public key, preshared key, endpoint, allowed ips, latest handshake, rx, tx, keepalive).
 */
export function parseWgDump(text: string): WgInterface {
    const lines = text.split("\n").filter((line) => line.trim().length > 0);
    if (lines.length === 0) throw new Error("empty `wg show dump` output");
    const head = lines[0].split("\t");
    if (head.length !== 4) throw new Error(`unexpected interface line in \`wg show dump\`: ${lines[0]}`);
    const peers = lines.slice(1).map((line) => {
        const fields = line.split("\t");
        if (fields.length !== 8) throw new Error(`unexpected peer line in \`wg show dump\`: ${line}`);
        return {
            publicKey: fields[0],
            endpoint: parseEndpoint(fields[2]),
            allowedIps: parseAllowedIps(fields[3]),
            latestHandshake: Number(fields[4]),
        };
    });
    return { publicKey: head[1], listenPort: Number(head[2]), peers };
}

const UNIT_SECONDS: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400 };

/** "2 minutes, 5 seconds ago" -> 125. */
function parseAgo(text: string): number {
    let seconds = 0;
    for (const match of text.matchAll(/([0-9]+) (second|minute|hour|day)s?/g)) seconds += Number(match[1]) * UNIT_SECONDS[match[2]];
    return seconds;
}

/**
 * The human-readable `wg show` (as in the original write-up), read into the same shape as the dump; relative
 * handshake times are turned into absolute ones against `now`.
 */
export function parseWgShow(text: string, now: number): WgInterface {
    let publicKey = "";
    let listenPort = 0;
    const peers: Array<{ publicKey: string; endpoint: WgEndpoint | null; allowedIps: string[]; latestHandshake: number }> = [];
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        const [key, ...rest] = line.split(":");
        const value = rest.join(":").trim();
        if (key === "peer") peers.push({ publicKey: value, endpoint: null, allowedIps: [], latestHandshake: 0 });
        else if (peers.length === 0 && key === "public key") publicKey = value;
        else if (peers.length === 0 && key === "listening port") listenPort = Number(value);
        else if (peers.length > 0) {
            const peer = peers[peers.length - 1];
            if (key === "endpoint") peer.endpoint = parseEndpoint(value);
            else if (key === "allowed ips") peer.allowedIps = parseAllowedIps(value);
            else if (key === "latest handshake") peer.latestHandshake = now - parseAgo(value);
        }
    }
    return { publicKey, listenPort, peers };
}
