/** WireGuard output used as test fixtures. */

/**
 * Keys and addresses as in the original write-up's `wg show` (server BWaY..., agent sz1s... at 104.156.140.173:51820,
 * allowed ips 10.42.1.0/24, handshake 2 minutes ago), written as `wg show flannel-wg dump` lines.
 */
export const NOW = 1764417600;
const KEY_SERVER_PRIVATE = "cFJpdmF0ZUtleU9mVGhlU2VydmVyTm90VG9CZVByaW50ZWQ=";
export const KEY_SERVER = "BWaYu5kACYCD4Rs7ukfbq5x9L5ERvW6BQ5bQkcfxpUQ=";
export const KEY_VULTR = "sz1skDooVieIrwLInioYwItM1MfCUZI0iz8/0kioeR0=";
export const KEY_HOME = "aG9tZS1ub2RlLXB1YmxpYy1rZXktZm9yLXRlc3RzMDE9";
export const KEY_STALE = "c3RhbGUtcGVlci1mcm9tLWEtcmVib290ZWQtbm9kZTAx";

/** A `wg show flannel-wg dump` line set; the first line carries the private key, which must never be printed. */
export function dump(peers: string[], privateKey = KEY_SERVER_PRIVATE): string {
    return [[privateKey, KEY_SERVER, "51820", "off"].join("\t"), ...peers].join("\n") + "\n";
}

export function peerLine(key: string, endpoint: string, allowed: string, handshake: number): string {
    return [key, "(none)", endpoint, allowed, String(handshake), "4024", "4157", "25"].join("\t");
}

export const PRIVATE_KEY_OF_DUMP = KEY_SERVER_PRIVATE;
