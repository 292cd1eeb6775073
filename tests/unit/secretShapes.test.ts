import { strict as assert } from "node:assert";
import { validateK3sOptions } from "../../components/k3s/options";
import { validateIpv4 } from "../../components/validation/addresses";
import { describeValue } from "../../components/validation/configError";
import { parseStackConfig } from "../../stacks/stackConfig";

/** Planted credentials of every shape the messages must not repeat (made up here, none is real). */
const PLANTED = {
    openssh: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n",
    rsa: "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----",
    k3sToken: `K10${"ab12".repeat(16)}::server:8f14e45fceea167a5a36dedd4bea2543`,
    proxyUrl: "http://backup:hunter2-planted@proxy.example:3128",
    alibabaKey: "LTAI5tPlantedExample0000",
    vultrKey: "PLANTEDVULTRAPIKEY0123456789ABCDEFGH",
    generated: "Zq8rT1vYp3Lm9Xw2Kc7Hn4Bd6Fs0Gj5Ae8Ru1Qy",
} as const;

function messageOf(run: () => unknown): string {
    try {
        run();
    } catch (error) {
        return (error as Error).message;
    }
    assert.fail("expected an error");
}

describe("no secret in any message: credential shapes are recognised wherever a value is shown", () => {
    it("shows each planted credential as (hidden: ...), and leaves public keys and ids visible", () => {
        assert.deepEqual(
            Object.fromEntries(Object.entries(PLANTED).map(([name, value]) => [name, describeValue(value)])),
            {
                openssh: "(hidden: looks like a private key)",
                rsa: "(hidden: looks like a private key)",
                k3sToken: "(hidden: looks like a k3s token)",
                proxyUrl: "(hidden: looks like a URL with a password)",
                alibabaKey: "(hidden: looks like a cloud access key)",
                vultrKey: "(hidden: looks like an API key)",
                generated: "(hidden: looks like a token or password)",
            },
        );
        assert.equal(describeValue({ nested: [PLANTED.generated] }), '{"nested":["(hidden: looks like a token or password)"]}');
        const publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlantedPublicKeyOnlyForTests0000000000000";
        assert.equal(describeValue(publicKey), JSON.stringify(publicKey));
        assert.equal(describeValue("cb676a46-66fd-4dfb-b839-443f2e6c0b60"), '"cb676a46-66fd-4dfb-b839-443f2e6c0b60"');
        assert.equal(describeValue("swas.s2.c2m2s40b4t1"), '"swas.s2.c2m2s40b4t1"');
    });

    it("a private key pasted where an address goes is not repeated", () => {
        assert.equal(
            messageOf(() => validateIpv4("ExistingServer(home-1).publicIp", PLANTED.openssh)),
            'ExistingServer(home-1).publicIp = (hidden: looks like a private key): is not an IPv4 address. Write it as four numbers from 0 to 255 separated by dots, e.g. "203.0.113.10".',
        );
    });

    it("a node's secret set without --secret is named as such, never shown, whatever it holds", () => {
        const nodes = [{ name: "tokyo-1", role: "server", cloud: "vultr", region: "nrt", plan: "vc2-1c-2gb", osId: 2284 }];
        const message = messageOf(() => parseStackConfig({ k3sVersion: "v1.33.6+k3s1", sshPublicKey: "ssh-ed25519 AAAA", nodes, sshPrivateKey: "short" }));
        assert.equal(
            message,
            'k3s-multicloud:sshPrivateKey = "(hidden)": is the secret a node logs in with, stored in plain text (set without --secret). Store it encrypted: `pulumi config rm k3s-multicloud:sshPrivateKey`, then `pulumi config set --secret k3s-multicloud:sshPrivateKey < <file>`.',
        );
    });

    it("a private key under a name no node uses is called what it is, not a mistyped setting", () => {
        const nodes = [{ name: "home-1", role: "server", cloud: "existing", publicIp: "203.0.113.10", location: "lab", privateKeySecret: "homeKey" }];
        const message = messageOf(() => parseStackConfig({ k3sVersion: "v1.33.6+k3s1", nodes, sshKey: PLANTED.openssh }));
        assert.equal(
            message,
            'k3s-multicloud:sshKey = "(hidden)": is not a setting of this program, and holds what looks like a private key in plain text. Remove it (`pulumi config rm k3s-multicloud:sshKey`); a node\'s key or password is set with `pulumi config set --secret` under the name its settings give (docs/configuration.md, "Stack config").',
        );
    });

    it("a credential in extraConfig is refused without being repeated: under any key, a mistyped key, a new secret key", () => {
        const cases: Array<[Record<string, string>, string]> = [
            [{ "etcd-s3-proxy": PLANTED.proxyUrl }, 'o.extraConfig.etcd-s3-proxy = "(hidden)": holds what looks like a URL with a password, and config.yaml is shown in plain text in every preview. Put it in a file on the host and use the matching *-file key, or leave it out.'],
            [{ "etcd-s3-secret-keys": "short" }, 'o.extraConfig.etcd-s3-secret-keys = "(hidden)": is not a k3s configuration key. Use a flag name from `k3s server --help` without the leading dashes, e.g. "cluster-cidr".'],
            [{ "etcd-s3-session-token": "short" }, 'o.extraConfig.etcd-s3-session-token = "(hidden)": holds a credential, and config.yaml is shown in plain text in every preview. Put it in a file on the host and use the matching *-file key, or leave it out.'],
            [{ "cluster-domain": PLANTED.k3sToken }, 'o.extraConfig.cluster-domain = "(hidden)": holds what looks like a k3s token, and config.yaml is shown in plain text in every preview. Put it in a file on the host and use the matching *-file key, or leave it out.'],
        ];
        for (const [extraConfig, expected] of cases) {
            const message = messageOf(() => validateK3sOptions("o", { extraConfig }));
            assert.equal(message, expected);
            for (const planted of Object.values(PLANTED)) assert.ok(!message.includes(planted));
        }
    });
});
