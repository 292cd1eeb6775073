import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { parse } from "yaml";
import { pinnableKey, renderHostKeyUserData } from "../../components/hosts/hostKeys";
import { keyscanCommand } from "../../components/toolkit/bundle";
import { generatedKey } from "../harness/mockCloud";
import { ScriptSandbox, STANDINS_BIN } from "../harness/scriptSandbox";
import { SshServer } from "../harness/sshServer";

/** Runs the host-key step the way the local command provider does: `sh -c` with the step's environment. */
function check(env: Record<string, string>) {
    const run = spawnSync("sh", ["-c", keyscanCommand()], { env: { PATH: process.env.PATH, K3SMC_NODE_NAME: "tokyo-1", K3SMC_HOST: "127.0.0.1", K3SMC_WAIT_SECONDS: "1", ...env }, encoding: "utf8", timeout: 60_000 });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * The host-key check against a real OpenSSH server on loopback whose host key is the one the Vultr user-data installs
 * (cloud-init itself cannot run here; its input is checked by OpenSSH instead).
 */
describe("host-key check (real ssh-keyscan against a real sshd whose key came from the rendered user-data)", function () {
    this.timeout(60_000);
    const { privateKey, publicKey } = generatedKey("host-key-check-test");
    const userData = renderHostKeyUserData(privateKey, publicKey);
    let box: ScriptSandbox;
    let sshd: SshServer;
    before(async () => {
        // What cloud-init reads from the user-data is what sshd is started with.
        const cloudConfig = parse(userData.split("\n").slice(1).join("\n")) as { ssh_keys: { ed25519_private: string; ed25519_public: string } };
        assert.equal(cloudConfig.ssh_keys.ed25519_public, publicKey.trim());
        box = new ScriptSandbox();
        sshd = new SshServer(box.root, `${STANDINS_BIN}:/usr/bin:/bin`, { hostPrivateKey: cloudConfig.ssh_keys.ed25519_private });
        await sshd.start();
    });
    after(() => {
        sshd?.stop();
        box?.cleanup();
    });

    it("the user-data's #cloud-config parses and carries the key pair OpenSSH serves", () => {
        assert.ok(userData.startsWith("#cloud-config\n"));
        assert.equal(sshd.hostPublicKey(), pinnableKey(publicKey));
    });

    it("confirms the generated key when the server presents it, and prints what every session then pins", () => {
        const run = check({ K3SMC_PORT: String(sshd.port), K3SMC_EXPECTED_HOST_KEY: pinnableKey(publicKey) });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stdout, `${pinnableKey(publicKey)}\n`);
    });

    it("records the first key seen when there is nothing to compare with (trust on first use)", () => {
        const run = check({ K3SMC_PORT: String(sshd.port) });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stdout, `${sshd.hostPublicKey()}\n`);
    });

    it("refuses another key in words, before any session could send credentials", () => {
        const other = pinnableKey(generatedKey("host-key-check-other").publicKey);
        const run = check({ K3SMC_PORT: String(sshd.port), K3SMC_EXPECTED_HOST_KEY: other });
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            `k3s-multicloud [tokyo-1] ERROR: 127.0.0.1:${sshd.port} presents the host key '${sshd.hostPublicKey()}', not the one this stack generated for it ('${other}'): someone is between you and the server, or it is not the server this stack built. Nothing was sent to it.\n`,
        );
    });

    it("gives up in words when nothing answers within the wait", () => {
        const run = check({ K3SMC_HOST: "127.0.0.1", K3SMC_PORT: "1" });
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud [tokyo-1] ERROR: 127.0.0.1:1 did not present an ed25519 SSH host key within 1s (is the server up, and port 1 open to this machine?)\n");
    });
});
