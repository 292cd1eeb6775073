import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { AliyunLightweightServer, AliyunLightweightServerArgs, ExistingServer, ExistingServerArgs, VultrServer } from "../../components";
import { parseIpv4Cidr, validateIpv4 } from "../../components/validation/addresses";
import { assertUniqueNames, validateNodeName } from "../../components/validation/names";
import { MockCloud } from "../harness/mockCloud";
import { HOST_KEY, SECRETS, SSH_PUBLIC_KEY, secret, assertConfigError } from "../harness/fixtures";

const rejects = assertConfigError;

const swasArgs = { region: "cn-shanghai", planId: "swas.s2.c2m2s40b4t1", imageId: "image-ubuntu-2204" };
const vultrArgs = { region: "nrt", plan: "vc2-1c-2gb", osId: 2284, sshPublicKey: SSH_PUBLIC_KEY, sshPrivateKey: "key" };
const existingArgs = { publicIp: "203.0.113.10", location: "home-lab", privateKey: "key", hostKey: HOST_KEY };

describe("host input validation", () => {
    let cloud: MockCloud;
    beforeEach(async () => {
        cloud = await MockCloud.install();
    });
    afterEach(async () => {
        await cloud.settle();
        assert.deepEqual(cloud.registrations.map((r) => r.name), [], "a rejected input must register nothing");
    });

    it("rejects a node name that is not a DNS-1123 label and suggests one", () => {
        rejects(
            () => new VultrServer("Web_1", vultrArgs),
            "VultrServer(Web_1).name = \"Web_1\": is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit). Use a name such as \"web-1\".",
        );
    });

    it("rejects an explicit nodeName that is too long", () => {
        const long = "n".repeat(64);
        rejects(
            () => new ExistingServer("ok", { ...existingArgs, nodeName: long }),
            `ExistingServer(ok).nodeName = "${long}": is 64 characters long, a node name may have at most 63. Use a shorter name.`,
        );
    });

    it("rejects a SWAS period the API does not sell", () => {
        rejects(
            () => new AliyunLightweightServer("sh-1", { ...swasArgs, period: 2 }),
            "AliyunLightweightServer(sh-1).period = 2: is not a term SWAS sells. Use one of 1, 3, 6, 12, 24, 36 (months, prepaid).",
        );
    });

    it("rejects a SWAS server with both planId and a plan lookup (named which, never the values)", () => {
        rejects(
            () => new AliyunLightweightServer("sh-1", { ...swasArgs, planSize: { core: 2, memory: 2 } } as unknown as AliyunLightweightServerArgs),
            "AliyunLightweightServer(sh-1).planId = (set): planId and planSize are both set. Set exactly one of planId, planSize and plan.",
        );
    });

    it("rejects a SWAS server with no image", () => {
        rejects(
            () => new AliyunLightweightServer("sh-1", { region: "cn-shanghai", planId: "p" } as AliyunLightweightServerArgs),
            "AliyunLightweightServer(sh-1).imageId = (not set): neither imageId nor image is set. Set exactly one of imageId and image.",
        );
    });

    it("rejects a region written the wrong way", () => {
        rejects(
            () => new AliyunLightweightServer("sh-1", { ...swasArgs, region: "Shanghai" }),
            "AliyunLightweightServer(sh-1).region = \"Shanghai\": is not a region id. Use the provider's region id, e.g. \"cn-hangzhou\".",
        );
    });

    it("rejects a Vultr osId given as a string and says to drop the quotes", () => {
        rejects(
            () => new VultrServer("tokyo-1", { ...vultrArgs, osId: "2284" as unknown as number }),
            "VultrServer(tokyo-1).osId = \"2284\": is not a Vultr OS id (a positive whole number). Write it as a number without quotes: 2284.",
        );
    });

    it("rejects a Vultr server whose private key is empty, without echoing it", () => {
        rejects(
            () => new VultrServer("tokyo-1", { ...vultrArgs, sshPrivateKey: "  " }),
            "VultrServer(tokyo-1).sshPrivateKey = \"(empty)\": is an empty secret. Pass the private key that matches sshPublicKey, e.g. `pulumi config set --secret ... < ~/.ssh/id_ed25519`.",
        );
    });

    it("rejects a public key that is not an OpenSSH key", () => {
        rejects(
            () => new VultrServer("tokyo-1", { ...vultrArgs, sshPublicKey: "not a key" }),
            "VultrServer(tokyo-1).sshPublicKey = \"not a key\": is not an OpenSSH public key. Paste one line of a .pub file, e.g. \"ssh-ed25519 AAAAC3Nza... you@laptop\".",
        );
    });

    it("rejects an SSH CIDR with host bits set and names the network to use", () => {
        rejects(
            () => new VultrServer("tokyo-1", { ...vultrArgs, sshAllowedCidrs: ["203.0.113.7/24"] }),
            "VultrServer(tokyo-1).sshAllowedCidrs[0] = \"203.0.113.7/24\": has host bits set below the /24 prefix. Use the network address: \"203.0.113.0/24\".",
        );
    });

    it("rejects a malformed IPv4 address on an existing server", () => {
        rejects(
            () => new ExistingServer("home-1", { ...existingArgs, publicIp: "203.0.113.300" }),
            "ExistingServer(home-1).publicIp = \"203.0.113.300\": is not an IPv4 address. Write it as four numbers from 0 to 255 separated by dots, e.g. \"203.0.113.10\".",
        );
    });

    it("rejects an existing server with both a key and a password", () => {
        rejects(
            () => new ExistingServer("home-1", { ...existingArgs, password: "pw" } as unknown as ExistingServerArgs),
            "ExistingServer(home-1).privateKey = (set): privateKey and password are both set. Set exactly one of privateKey and password.",
        );
    });

    it("rejects an empty password on an existing server", () => {
        rejects(
            () => new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", password: "" } as ExistingServerArgs),
            "ExistingServer(home-1).password = \"(empty)\": is an empty secret. Set it as a secret: `pulumi config set --secret` and pass the value with config.requireSecret().",
        );
    });

    it("rejects an existing server without a location", () => {
        rejects(
            () => new ExistingServer("home-1", { ...existingArgs, location: " " }),
            "ExistingServer(home-1).location = \" \": a location is required. Name the site or region the server is in, e.g. \"home-lab\" or \"fra\": servers must share one.",
        );
    });

    it("asks for behindNat when the addresses are known only later", () => {
        rejects(
            () => new ExistingServer("home-1", { ...existingArgs, publicIp: pulumi.output("203.0.113.10") }),
            "ExistingServer(home-1).behindNat = (not set): cannot be derived while publicIp or privateIp is known only after deployment. Set behindNat to true when the public IP is not on the server's NIC, else false.",
        );
    });

    it("rejects an SSH port out of range", () => {
        rejects(
            () => new ExistingServer("home-1", { ...existingArgs, port: 70000, privateKey: secret(SECRETS.existingPrivateKey) }),
            "ExistingServer(home-1).port = 70000: is not a TCP port. Use a whole number from 1 to 65535, e.g. 22.",
        );
    });
});

describe("address and name rules", () => {
    it("accepts dotted quads and refuses leading zeros, which some parsers read as octal", () => {
        assert.equal(validateIpv4("f", "10.0.0.1"), "10.0.0.1");
        assert.throws(() => validateIpv4("f", "010.0.0.1"), /is not an IPv4 address/);
        assert.throws(() => validateIpv4("f", "1.2.3"), /is not an IPv4 address/);
    });

    it("parses CIDRs into the parts firewall APIs take", () => {
        assert.deepEqual(parseIpv4Cidr("f", "0.0.0.0/0"), { address: "0.0.0.0", prefix: 0 });
        assert.deepEqual(parseIpv4Cidr("f", "198.51.100.7"), { address: "198.51.100.7", prefix: 32 });
        assert.deepEqual(parseIpv4Cidr("f", "10.42.0.0/16"), { address: "10.42.0.0", prefix: 16 });
        assert.throws(() => parseIpv4Cidr("f", "10.42.0.0/33"), /is not an IPv4 CIDR/);
        assert.throws(() => parseIpv4Cidr("f", "10.42.0.0/16/1"), /is not an IPv4 CIDR/);
    });

    it("accepts DNS-1123 labels and rejects duplicates by name", () => {
        assert.equal(validateNodeName("f", "a"), "a");
        assert.equal(validateNodeName("f", "sh-server-1"), "sh-server-1");
        assert.throws(() => validateNodeName("f", "-a"), /is not a DNS-1123 label/);
        assert.throws(
            () => assertUniqueNames("nodes", ["a", "b", "a"]),
            { message: "nodes = \"a\": is used by more than one node. Give every node its own name (set nodeName on one of the hosts)." },
        );
    });
});
