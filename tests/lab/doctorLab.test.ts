import { strict as assert } from "node:assert";
import { CheckRow } from "../../components/doctor/diagnose";
import { DOCTOR_SCENARIOS, DoctorScenarioResult, runDoctorLab } from "../../lab/doctorLab";
import { labMissing } from "../../lab/world";

/**
 * doctor against the namespace lab: real SSH with pinned host keys, real NAT, nftables, ufw and userspace WireGuard;
 * k3s and flannel are the lab's stand-ins. The healthy cluster first, then each break on the running hosts.
 */
/** What this machine lacks for the lab (root, its programs, the built API server); .ci/run provides them all. */
const missing = labMissing();

/** A row as the report prints its essentials. */
const brief = (r: CheckRow) => `${r.verdict} ${r.node} ${r.check}: ${r.seen}`;

describe("doctor on the namespace lab", function () {
    this.timeout(300_000);
    let results: Map<string, DoctorScenarioResult>;

    before(async function () {
        if (missing) {
            console.log(`      skipped: ${missing}`);
            this.skip();
        }
        results = new Map((await runDoctorLab()).map((r) => [r.scenario, r]));
        assert.deepEqual([...results.keys()], [...DOCTOR_SCENARIOS]);
    });

    const notOk = (scenario: string) => results.get(scenario)!.rows.filter((r) => r.verdict !== "ok").map(brief);

    it("healthy: exits 0 with every check ok on every node", () => {
        const healthy = results.get("healthy")!;
        assert.equal(healthy.exitStatus, 0);
        assert.deepEqual(notOk("healthy"), []);
        // Every check ran on every node (the NAT binding on the two NAT'd ones).
        const checks = (node: string) => healthy.rows.filter((r) => r.node === node).map((r) => r.check).sort();
        const common = ["certificates", "clock", "disk", "exposure", "flannel-address", "host-firewall", "k3s-service", "k3s-version", "mesh", "mesh", "node-external-ip", "node-ready", "ssh", "stale-peers", "toolkit", "wireguard"];
        assert.deepEqual(checks("vultr-1").filter((c) => c !== "reach" && c !== "certificates"), common.filter((c) => c !== "certificates"));
        assert.ok(checks("swas-1").includes("nat-address") && checks("home-1").includes("nat-address"));
    });

    it("the write-up's bug: a NAT'd node advertising its private address, named on that node and where its peers see it", () => {
        assert.equal(results.get("nat-advertises-private")!.exitStatus, 1);
        assert.deepEqual(notOk("nat-advertises-private"), [
            "fail swas-1 flannel-address: flannel advertises 172.16.0.2, public-ip-overwrite unset; the public address is 203.0.113.20",
            "fail swas-1 node-external-ip: config.yaml: (none); the public address is 203.0.113.20",
            "fail vultr-1 mesh: swas-1 at its private address 172.16.0.2:51820",
            "fail home-1 mesh: swas-1 at its private address 172.16.0.2:51820",
        ]);
        const fix = results.get("nat-advertises-private")!.rows.find((r) => r.node === "vultr-1" && r.check === "mesh")!.fix;
        assert.equal(fix, "swas-1 advertises its private address: its node-external-ip or public-ip-overwrite is missing (see its rows); `pulumi up` fixes both and restarts k3s there");
    });

    it("UDP 51820 blocked between two members: no handshake on either side, and the fix says where to look", () => {
        assert.equal(results.get("udp-51820-blocked")!.exitStatus, 1);
        assert.deepEqual(notOk("udp-51820-blocked"), [
            "fail swas-1 mesh: vultr-1 at 203.0.113.30:51820, no handshake ever",
            "fail vultr-1 mesh: swas-1 at 203.0.113.20:51820, no handshake ever",
        ]);
    });

    it("a stale peer that still routes a pod subnet", () => {
        assert.equal(results.get("stale-peer")!.exitStatus, 1);
        assert.deepEqual(notOk("stale-peer"), ["fail vultr-1 stale-peers: 1 peer(s) of no member: 198.51.100.77:51820 (routes 10.42.99.0/24)", ]);
    });

    it("k3s stopped on an agent: its service and its Node's Ready condition", () => {
        assert.equal(results.get("k3s-stopped-on-agent")!.exitStatus, 1);
        assert.deepEqual(notOk("k3s-stopped-on-agent"), ["fail home-1 k3s-service: k3s-agent inactive", "fail home-1 node-ready: Ready=False", ]);
    });

    it("a wrong pinned host key: that node's checks stop, in words, with the way out", () => {
        const run = results.get("wrong-host-key")!;
        assert.equal(run.exitStatus, 1);
        assert.deepEqual(notOk("wrong-host-key"), ["fail home-1 ssh: Host key verification failed.", ]);
        assert.match(run.rows.find((r) => r.check === "ssh" && r.node === "home-1")!.fix, /docs\/operations\.md, "A host key that changed"/);
        assert.deepEqual(run.rows.filter((r) => r.node === "home-1").map((r) => r.check), ["ssh"]);
    });

    it("the annotation differing from the real address", () => {
        assert.equal(results.get("annotation-differs")!.exitStatus, 1);
        assert.deepEqual(notOk("annotation-differs"), [
            "fail vultr-1 flannel-address: flannel advertises 203.0.113.30, public-ip-overwrite 198.51.100.99; the public address is 203.0.113.30",
        ]);
    });
});
