import { strict as assert } from "node:assert";
import { toolkitCall } from "../../components/toolkit/contract";
import { parseMeshReport } from "../../components/mesh/meshCheck";
import { ScriptSandbox } from "../harness/scriptSandbox";
import { KEY_VULTR, PRIVATE_KEY_OF_DUMP, dump, peerLine } from "../harness/wgFixtures";

function meshCommand(role: "server" | "agent", expectedPeers: number, timeout = 5): string {
    return toolkitCall("mesh-check", { "node-name": "sh-server", role, "expected-peers": expectedPeers, "mesh-timeout": timeout }, false);
}

describe("mesh-check script (real bash, stand-ins for wg and k3s)", () => {
    let box: ScriptSandbox;
    beforeEach(() => {
        box = new ScriptSandbox();
        // The stand-in `wg` prints the planted dump, or fails like a missing interface.
        box.addStandin(
            "wg",
            'echo "wg $*" >>"$K3SMC_ROOT/calls.log"; if [ -f "$K3SMC_ROOT/wg-dump" ]; then cat "$K3SMC_ROOT/wg-dump"; else echo "Unable to access interface: No such device" >&2; exit 1; fi',
        );
    });
    afterEach(() => box.cleanup());

    it("prints the dump with the private key blanked, and the server's view of node readiness", () => {
        const now = Math.floor(Date.now() / 1000);
        box.plant("wg-dump", dump([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", now - 20)]));
        box.plant("usr/local/bin/k3s", '#!/usr/bin/env bash\nprintf "sh-server True\\ntokyo-1 True\\n"\n');
        box.run(`chmod +x "$K3SMC_ROOT/usr/local/bin/k3s"`);
        const run = box.run(meshCommand("server", 1));
        assert.equal(run.status, 0, run.stderr);
        assert.ok(!run.stdout.includes(PRIVATE_KEY_OF_DUMP), "the private key must never be printed");
        const report = parseMeshReport(run.stdout);
        assert.deepEqual(report.ready, { "sh-server": "True", "tokyo-1": "True" });
        assert.ok(Math.abs(report.now - now) <= 5);
        assert.deepEqual("error" in report.wg ? [] : report.wg.peers.map((p) => p.publicKey), [KEY_VULTR]);
        assert.match(run.stdout.split("\n")[2], /^\(hidden\)\t/);
    });

    it("waits for handshakes until the timeout, then reports what it has", () => {
        box.plant("wg-dump", dump([peerLine(KEY_VULTR, "104.156.140.173:51820", "10.42.1.0/24", 0)]));
        const started = Date.now();
        const run = box.run(meshCommand("agent", 1, 2));
        assert.equal(run.status, 0, run.stderr);
        assert.ok(Date.now() - started >= 1000, "it waited for a handshake (2 s deadline, counted in whole seconds)");
        assert.ok(box.calls().length > 2, "it read the interface more than once");
    });

    it("reports a missing interface as an error line", () => {
        const run = box.run(meshCommand("agent", 1, 0));
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /^# now [0-9]+\n# wg-error Unable to access interface: No such device\n$/);
    });
});
