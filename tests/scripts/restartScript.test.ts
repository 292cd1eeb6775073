import { strict as assert } from "node:assert";
import { toolkitCall } from "../../components/toolkit/contract";
import { renderNodeSteps } from "../../components/k3s/nodeSteps";
import { ScriptSandbox } from "../harness/scriptSandbox";

function restartCommand(expected: string): string {
    return toolkitCall("restart", { "node-name": "tokyo-1", role: "agent", "expected-public-ip": expected, "ready-timeout": 5 }, false);
}

describe("restart-for-flannel script (real bash, stand-ins for systemd and k3s)", () => {
    let box: ScriptSandbox;
    beforeEach(() => {
        box = new ScriptSandbox();
        const install = renderNodeSteps({
            config: { role: "agent", nodeName: "tokyo-1", privateIp: "10.0.0.2", publicIp: "104.156.140.173", serverUrl: "https://47.100.1.10:6443", options: {} },
            version: "v1.33.6+k3s1",
            mirror: "github",
            sudo: false,
            readyTimeoutSeconds: 5,
        }).install;
        assert.equal(box.run(install, { stdin: `K10${"ab".repeat(32)}::node:token\n` }).status, 0);
        box.clearCalls();
    });
    afterEach(() => box.cleanup());

    it("skips the restart when flannel already advertises the expected address", () => {
        box.plant("flannel-public-ip", "104.156.140.173");
        const run = box.run(restartCommand("104.156.140.173"));
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stdout, "k3s-multicloud [tokyo-1] flannel already advertises 104.156.140.173: no restart needed\n");
        assert.deepEqual(box.calls().filter((c) => c.startsWith("systemctl")), []);
    });

    it("restarts k3s-agent when flannel advertises another address, then waits for Ready", () => {
        box.plant("flannel-public-ip", "10.0.0.2");
        const run = box.run(restartCommand("104.156.140.173"));
        assert.equal(run.status, 0, run.stderr);
        assert.equal(
            run.stdout,
            "k3s-multicloud [tokyo-1] flannel advertises '10.0.0.2', expected 104.156.140.173: restarting k3s-agent\nk3s-multicloud [tokyo-1] node tokyo-1 is Ready after the restart\n",
        );
        assert.deepEqual(box.calls().filter((c) => c.startsWith("systemctl")), ["systemctl restart --no-block k3s-agent"]);
        assert.match(box.calls()[0], /get node tokyo-1 -o jsonpath=\{\.metadata\.annotations\.flannel\\\.alpha\\\.coreos\\\.com\/public-ip\}$/);
    });

    it("always restarts when no expected address is given (caller-marked keys)", () => {
        const run = box.run(restartCommand(""));
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /^k3s-multicloud \[tokyo-1\] an annotation flannel reads at start changed: restarting k3s-agent\n/);
        assert.deepEqual(box.calls().filter((c) => c.startsWith("systemctl")), ["systemctl restart --no-block k3s-agent"]);
    });

    it("fails in words when the node does not come back", () => {
        box.plant("ready-status", "False");
        const run = box.run(restartCommand("").replace("--ready-timeout 5", "--ready-timeout 1"));
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud [tokyo-1] ERROR: node tokyo-1 did not become Ready within 1s after the restart; see 'journalctl -u k3s-agent'.\n");
    });
});
