import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { credentialsFrom, nodesFromOutputs } from "../../components/doctor/cli";
import { CheckRow, DoctorNode, diagnose } from "../../components/doctor/diagnose";
import { parseProbe } from "../../components/doctor/facts";
import { exitStatus, renderReport } from "../../components/doctor/report";

const NOW = 1764417600;
/** What probe.sh prints on a healthy NAT'd server (fields as the script writes them, tab-separated). */
const SERVER_PROBE = [
    `now\t${NOW}`,
    "kernel\t6.8.0-49-generic",
    "wireguard-kernel\tyes",
    "toolkit\tb00f800bbaf8722b",
    "cloud-init\tdone",
    "service\tk3s active",
    "k3s-version\tv1.33.6+k3s1",
    "node-external-ip\t47.100.1.10",
    "addresses\t127.0.0.1,172.17.61.146,47.100.1.10,10.42.0.0",
    "flannel-wg\tup",
    `peer\t104.156.140.173:51820\t10.42.1.0/24\t${NOW - 20}`,
    "nft-table\tloaded",
    "ufw\tinactive",
    "disk-free-mb\t30000",
    `cert\tserver/tls/serving-kube-apiserver.crt\t${NOW + 300 * 86400}`,
    "reach\ttokyo-1 10250 open",
    "reach\ttokyo-1 6443 closed",
    "node\tsh-1\tTrue\t47.100.1.10\t47.100.1.10",
    "node\ttokyo-1\tTrue\t104.156.140.173\t104.156.140.173",
    "",
].join("\n");

const NODES: DoctorNode[] = [
    { name: "sh-1", role: "server", publicIp: "47.100.1.10", privateIp: "172.17.61.146", behindNat: true, sshUser: "root", sshPort: 22, hostKey: "ssh-ed25519 AAAA" },
    { name: "tokyo-1", role: "agent", publicIp: "104.156.140.173", privateIp: "104.156.140.173", behindNat: false, sshUser: "root", sshPort: 22, hostKey: "ssh-ed25519 BBBB" },
];

describe("doctor: what the probe says, and what doctor makes of it", () => {
    it("parses every fact of the probe", () => {
        const facts = parseProbe(SERVER_PROBE);
        assert.deepEqual(facts.peers, [{ endpoint: "104.156.140.173:51820", allowedIps: "10.42.1.0/24", handshake: NOW - 20 }]);
        assert.deepEqual(facts.services, [{ name: "k3s", state: "active" }]);
        assert.deepEqual(facts.reach, [{ node: "tokyo-1", port: 6443, open: false }, { node: "tokyo-1", port: 10250, open: true }]);
        assert.deepEqual(facts.apiNodes, [
            { name: "sh-1", ready: "True", publicIp: "47.100.1.10", overwrite: "47.100.1.10" },
            { name: "tokyo-1", ready: "True", publicIp: "104.156.140.173", overwrite: "104.156.140.173" },
        ]);
        assert.equal(facts.diskFreeMb, 30000);
        assert.equal(facts.nftTable, true);
    });

    it("the write-up's session: a peer at its private address, a kernel without WireGuard, an unreachable node", () => {
        const server = parseProbe(SERVER_PROBE.replace("104.156.140.173:51820", "10.0.0.7:51820"));
        const tokyo = NODES[1];
        const rows = diagnose(
            [NODES[0], { ...tokyo, privateIp: "10.0.0.7" }],
            new Map([
                ["sh-1", { facts: server, askedAt: NOW }],
                ["tokyo-1", { facts: parseProbe(`now\t${NOW}\nkernel\t4.15.0-20-generic\nwireguard-kernel\tno\nflannel-wg\tabsent\n`), askedAt: NOW }],
            ]),
            { k3sVersion: "v1.33.6+k3s1" },
        );
        const failing = rows.filter((r) => r.verdict === "fail").map((r) => `${r.node} ${r.check}: ${r.seen} | ${r.fix}`);
        assert.deepEqual(failing.slice(0, 2), [
            "sh-1 mesh: tokyo-1 at its private address 10.0.0.7:51820 | tokyo-1 advertises its private address: its node-external-ip or public-ip-overwrite is missing (see its rows); `pulumi up` fixes both and restarts k3s there",
            'tokyo-1 wireguard: kernel 4.15.0-20-generic has no WireGuard | upgrade the kernel (cluster option wireguardKernel: "upgrade"), docs/operations.md "A kernel without WireGuard"',
        ]);
        assert.equal(exitStatus(rows), 1);
    });

    it("prints failing rows first with their fix, then warnings, then ok, and the counts", () => {
        const rows: CheckRow[] = [
            { node: "tokyo-1", check: "clock", verdict: "warn", seen: "45 s from this machine", fix: "enable time sync" },
            { node: "sh-1", check: "ssh", verdict: "fail", seen: "Host key verification failed.", fix: "re-learn the key" },
            { node: "sh-1", check: "disk", verdict: "ok", seen: "30000 MB free", fix: "" },
        ];
        assert.equal(
            renderReport(rows),
            [
                "FAIL  sh-1     ssh    Host key verification failed.",
                "                      fix: re-learn the key",
                "WARN  tokyo-1  clock  45 s from this machine",
                "                      fix: enable time sync",
                "OK    sh-1     disk   30000 MB free",
                "1 failing, 1 warnings, 1 ok",
                "",
            ].join("\n"),
        );
        assert.equal(exitStatus(rows.filter((r) => r.verdict !== "fail")), 0, "warnings alone exit 0");
    });

    it("takes the nodes from the stack's outputs and each credential from the config the nodes name, or the state", () => {
        const outputs = {
            k3sVersion: "v1.33.6+k3s1",
            nodes: [
                { ...NODES[0], cloud: "aliyun", location: "cn-shanghai" },
                { ...NODES[1], cloud: "vultr", location: "nrt" },
                { name: "home-1", role: "agent", cloud: "existing", location: "home", publicIp: "203.0.113.10", privateIp: "192.168.1.2", behindNat: true, sshUser: "ops", sshPort: 2222 },
            ],
        };
        const { nodes } = nodesFromOutputs(outputs);
        assert.deepEqual(nodes[2], { name: "home-1", role: "agent", publicIp: "203.0.113.10", privateIp: "192.168.1.2", behindNat: true, sshUser: "ops", sshPort: 2222, hostKey: undefined });
        const config = {
            "k3s-multicloud:nodes": { value: JSON.stringify([{ name: "sh-1", cloud: "aliyun" }, { name: "tokyo-1", cloud: "vultr" }, { name: "home-1", cloud: "existing", passwordSecret: "homePassword" }]) },
            "k3s-multicloud:sshPrivateKey": { value: "vultr-key" },
            "k3s-multicloud:homePassword": { value: "home-password" },
        };
        const state = { deployment: { resources: [{ urn: "urn:pulumi:dev::k3s-multicloud::k3s-multicloud:index:MulticloudCluster$k3s-multicloud:hosts:AliyunLightweightServer$random:index/randomPassword:RandomPassword::sh-1-root-password", type: "random:index/randomPassword:RandomPassword", outputs: { result: "swas-password" } }] } };
        const credentialFor = credentialsFrom(config, state, undefined);
        assert.deepEqual(nodes.map((n) => credentialFor(n)), [{ password: "swas-password" }, { privateKey: "vultr-key" }, { password: "home-password" }]);
        assert.throws(() => nodesFromOutputs({ k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "a" }] }), /a release before 0\.4\.0, which did not export each node's SSH user, port and host key/);
    });

    it("the command answers --help and refuses what it does not know", () => {
        const cli = join(__dirname, "..", "..", "components", "doctor", "cli.ts");
        const help = spawnSync(process.execPath, ["-r", "tsx/cjs", cli, "doctor", "--help"], { encoding: "utf8" });
        assert.equal(help.status, 0);
        assert.match(help.stdout, /^usage: pulumi stack output --json \| k3s-multicloud doctor \[options\]/);
        const wrong = spawnSync(process.execPath, ["-r", "tsx/cjs", cli, "doctor", "--parallel", "0"], { encoding: "utf8", input: "{}" });
        assert.equal(wrong.status, 2);
        assert.equal(wrong.stderr, "k3s-multicloud doctor: --parallel must be a whole number from 1 to 64, not 0\n");
    });
});
