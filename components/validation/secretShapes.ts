/**
 * Values that look like credentials, whatever key they were given under: a private key pasted into the wrong
 * setting, a token, a URL with a password in it. Every message and rendered file shows such a value as
 * `(hidden: ...)`, never the value itself - a stack file, a preview and a CI log are read by more people than the
 * secret was meant for.
 */
const SHAPES: ReadonlyArray<{ readonly kind: string; readonly test: RegExp }> = [
    { kind: "a private key", test: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File/ },
    // k3s' secure token format: K10<sha256 of the CA>::<user>:<password>.
    { kind: "a k3s token", test: /K10[0-9a-f]{64}::[^\s]+:[^\s]+/ },
    { kind: "a URL with a password", test: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i },
    // Alibaba Cloud AccessKey ids start LTAI; AWS (S3 for etcd snapshots) AKIA or ASIA.
    { kind: "a cloud access key", test: /\b(LTAI|AKIA|ASIA)[A-Za-z0-9]{12,}/ },
    // Vultr API keys: 36 upper-case letters and digits.
    { kind: "an API key", test: /^[A-Z0-9]{36}$/ },
    // Anything long and random without spaces: generated passwords, bearer tokens, base64 key material. (Public keys
    // and fingerprints have a space or a prefix and stay visible.)
    { kind: "a token or password", test: /^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9+/_=.~-]{32,}$/ },
];

/** What kind of credential `value` looks like, or undefined when it looks like none. */
export function secretShapeOf(value: string): string | undefined {
    if (/^(ssh-|ecdsa-|sk-)[a-z0-9-]+ [A-Za-z0-9+/=]+/.test(value.trim())) return undefined; // a public key
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return undefined; // an id
    return SHAPES.find((shape) => shape.test.test(value))?.kind;
}

/** How a credential-looking value is shown in its place. */
export function hiddenValue(kind: string): string {
    return `(hidden: looks like ${kind})`;
}
