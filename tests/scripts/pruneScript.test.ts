import { strict as assert } from "node:assert";
import { toolkitCall } from "../../components/toolkit/contract";
import { ScriptSandbox } from "../harness/scriptSandbox";
import { KEY_HOME, KEY_STALE, KEY_VULTR, NOW, dump, peerLine } from "../harness/wgFixtures";

const ANOTHER_STALE = "YW5vdGhlci1zdGFsZS1wZWVyLXdpdGgtbm8tcm91dGVz";

describe("prune-peers script (real bash, stand-in for wg)", () => {
    let box: ScriptSandbox;
    const prune = toolkitCall("prune", { "node-name": "sh-server" }, false);
    beforeEach(() => {
        box = new ScriptSandbox();
        box.addStandin(
            "wg",
            'echo "wg $*" >>"$K3SMC_ROOT/calls.log"; if [ "$1" = show ]; then if [ -f "$K3SMC_ROOT/wg-dump" ]; then cat "$K3SMC_ROOT/wg-dump"; else exit 1; fi; fi',
        );
    });
    afterEach(() => box.cleanup());

    it("removes exactly the peers whose allowed ips are (none), never the live ones", () => {
        box.plant(
            "wg-dump",
            dump([
                peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", NOW - 20),
                peerLine(KEY_STALE, "104.156.140.173:51820", "(none)", NOW - 9000),
                peerLine(KEY_HOME, "203.0.113.10:51820", "10.42.2.0/24", 0),
                peerLine(ANOTHER_STALE, "(none)", "(none)", 0),
            ]),
        );
        const run = box.run(prune);
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(box.calls(), [
            "wg show flannel-wg dump",
            `wg set flannel-wg peer ${KEY_STALE} remove`,
            `wg set flannel-wg peer ${ANOTHER_STALE} remove`,
        ]);
        assert.equal(run.stdout, `k3s-multicloud [sh-server] removed stale WireGuard peer ${KEY_STALE}\nk3s-multicloud [sh-server] removed stale WireGuard peer ${ANOTHER_STALE}\n`);
    });

    it("does nothing when no peer is stale, or when the interface is missing", () => {
        box.plant("wg-dump", dump([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", NOW - 20)]));
        assert.equal(box.run(prune).stdout, "k3s-multicloud [sh-server] no stale WireGuard peers\n");
        box.run('rm "$K3SMC_ROOT/wg-dump"');
        assert.equal(box.run(prune).stdout, "k3s-multicloud [sh-server] no flannel-wg interface: nothing to prune\n");
        assert.deepEqual(box.calls().filter((c) => c.startsWith("wg set")), []);
    });
});
