import { strict as assert } from "node:assert";
import { spawn, spawnSync, SpawnSyncReturns } from "node:child_process";
import { resolve } from "node:path";
import { CHECK_NAMES, CheckResult, runLab } from "../../lab/lab";
import { labMissing } from "../../lab/world";
import { leftBehindBy, namespacesOfRun, strayLabProcesses } from "./leftovers";

/**
 * The namespace lab as CI runs it: real OpenSSH, NAT, nftables, ufw and userspace WireGuard, our registered steps
 * over real SSH; k3s, the cloud APIs, apt and systemd are stand-ins. Needs root and the Debian packages .ci/run
 * installs (wireguard-go, wireguard-tools among them).
 */
const REPO = resolve(__dirname, "..", "..");
/** What this machine lacks for the lab (root, its programs, the built API server); .ci/run provides them all. */
const missing = labMissing();

// wireguard-go and the k3s stand-in run only in the lab; sshd of the lab is recognisable by its config path.
const LAB_PROCESS = /^wireguard-go |k3s-node\.sh run|k3smc-lab-[^ ]*\/\w+_sshd_config/;

function lines(results: CheckResult[]): string[] {
    return results.map((r) => (r.ok ? `ok ${r.name}` : `FAIL ${r.name}: ${r.detail}`));
}

describe("the namespace lab (npm run lab)", function () {
    this.timeout(300_000);
    before(function () {
        if (missing) {
            console.log(`      skipped: ${missing}`);
            this.skip();
        }
    });

    it("every check is ok, one line each, and nothing of the lab is left behind", async () => {
        let run!: SpawnSyncReturns<string>;
        const left = leftBehindBy(LAB_PROCESS, () => {
            run = spawnSync(process.execPath, ["-r", "tsx/cjs", "lab/cli.ts", "--quiet"], { cwd: REPO, encoding: "utf8", timeout: 240_000 });
            return run.pid;
        });
        const printed = run.stdout.trim().split("\n");
        // One line per check: its name, then what it proved in words.
        assert.deepEqual(printed.slice(0, -1).map((line) => /^ok ([a-z0-9-]+) - \S/.exec(line)?.[1]), [...CHECK_NAMES], run.stdout + run.stderr);
        assert.match(printed[printed.length - 1], new RegExp(`^lab: ${CHECK_NAMES.length} ok, 0 failed in [0-9.]+ s$`));
        assert.ok(printed.includes("ok nat-handshake-private-fails - as it must, no handshake at the NAT'd host's NIC address 172.16.0.2, the one flannel advertises without node-external-ip (the write-up's bug)"), run.stdout);
        assert.equal(run.status, 0);
        assert.deepEqual(left, { namespaces: [], processes: [] });
    });

    it("without node-external-ip in the rendered config, the NAT'd handshake and the mesh check fail, in words", async () => {
        const results = await runLab({ breaks: ["node-external-ip"], only: ["nat-handshake-public", "mesh-check-real-wg"], meshTimeoutSeconds: 6 });
        assert.deepEqual(lines(results), [
            "FAIL nat-handshake-public: no handshake from the Vultr host to the NAT'd SWAS host at the endpoint it advertises, 172.16.0.2:51821, within 10 s",
            "FAIL mesh-check-real-wg: the mesh checks failed on a real mesh: " +
                "swas:   - swas-1 reaches home-1 at its private address 192.168.1.2:51820 instead of 203.0.113.40:51820: node-external-ip did not apply on home-1, so flannel there advertises its NIC address, which nothing outside its network can reach.; " +
                "home:   - home-1 reaches swas-1 at its private address 172.16.0.2:51820 instead of 203.0.113.20:51820: node-external-ip did not apply on swas-1, so flannel there advertises its NIC address, which nothing outside its network can reach.",
        ]);
    });

    it("with a wrong host key pinned for the existing server, its steps and the relay refuse it", async () => {
        const results = await runLab({ breaks: ["host-key"], only: ["ssh-hostkey-pinned-port22"] });
        assert.deepEqual(lines(results), [
            "FAIL ssh-hostkey-pinned-port22: the upgrade relay to the existing server (port 22, pinned key) failed: " +
                "Host key for 203.0.113.40 has changed and you have requested strict checking. | Host key verification failed. | " +
                "k3s-multicloud [home-1] ERROR: read the fingerprint of home-1: SSH to 203.0.113.40:22 failed: Host key verification failed. " +
                '203.0.113.40 presents another SSH host key than the one pinned in state: if you reinstalled it on purpose, re-learn its key (docs/operations.md, "A host key that changed"); otherwise someone may be between you and it.',
        ]);
    });

    it("agents given the server token (as before 0.2.1) are refused by the stand-in's TLS bootstrap, and the check says why", async () => {
        const results = await runLab({ breaks: ["agent-token"], only: ["agents-hold-agent-token-only"] });
        assert.deepEqual(lines(results), [
            "FAIL agents-hold-agent-token-only: vultr has no join token: its install refused a short one (the join token given has no cluster CA hash (K10<hash>::<user>:<token>))",
        ]);
    });

    it("without the public address bound on the NAT'd server, its pods cannot reach the API it advertises (no hairpin NAT)", async () => {
        const results = await runLab({ breaks: ["public-address"], only: ["api-from-pods-behind-nat"] });
        assert.deepEqual(lines(results), [
            "FAIL api-from-pods-behind-nat: a pod on the SWAS host got 'timeout' from 10.43.0.1:443 (-> 203.0.113.20:6443): the NAT does not hairpin and the address is not local",
        ]);
    });

    it("Ctrl-C in the middle tears everything down", async () => {
        const strayBefore = new Set(strayLabProcesses(LAB_PROCESS));
        const child = spawn(process.execPath, ["-r", "tsx/cjs", "lab/cli.ts"], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
        let progress = "";
        await new Promise<void>((resolvePromise, reject) => {
            child.stderr.on("data", (chunk) => {
                progress += chunk;
                // Interrupted once the hosts run k3s and WireGuard: the most there is to clean up.
                if (progress.includes("step lab-swas-1-metadata-restart: ok")) child.kill("SIGINT");
            });
            child.on("error", reject);
            child.on("close", () => resolvePromise());
        });
        assert.equal(child.exitCode, 130, progress);
        const processes = strayLabProcesses(LAB_PROCESS).filter((line) => !strayBefore.has(line));
        assert.deepEqual({ namespaces: namespacesOfRun(child.pid!), processes }, { namespaces: [], processes: [] });
    });
});
