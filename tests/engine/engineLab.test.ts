import { strict as assert } from "node:assert";
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { resolve } from "node:path";
import { Engine } from "../../lab/engine/engine";
import { leftBehindBy } from "../lab/leftovers";
import { engineForLab } from "./engineForLab";
import { ENGINE_CHECK_NAMES, EngineCheck, runEngineLab } from "../../lab/engine/engineLab";

/**
 * The engine lab as CI runs it: the namespace lab's hosts, and our program run by the real Pulumi CLI (built from its
 * Go module by engine/build.sh) with the command provider stand-in. Without a built engine the suite skips and says
 * why; .ci/run builds it and sets K3SMC_REQUIRE_ENGINE, so there a missing engine fails instead.
 */
const REPO = resolve(__dirname, "..", "..");

// The providers and the program the CLI runs, and the hosts' WireGuard.
const LAB_PROCESS = /pulumi-resource-|pulumiWithProgram|^wireguard-go /;

describe("the engine lab (npm run lab -- --engine)", function () {
    this.timeout(600_000);
    let engine: Engine;
    before(function () {
        engine = engineForLab(this);
    });

    it("every engine check is ok, one line each, and nothing of the lab is left behind", () => {
        let run!: SpawnSyncReturns<string>;
        const left = leftBehindBy(LAB_PROCESS, () => {
            run = spawnSync(process.execPath, ["-r", "tsx/cjs", "lab/cli.ts", "--engine", "--quiet"], { cwd: REPO, encoding: "utf8", timeout: 480_000 });
            return run.pid;
        });
        const printed = run.stdout.trim().split("\n");
        // One line per check: its name, then what it proved in words.
        assert.deepEqual(printed.slice(0, -1).map((line) => /^ok ([a-z0-9-]+) - \S/.exec(line)?.[1]), [...ENGINE_CHECK_NAMES], run.stdout + run.stderr);
        assert.match(printed[printed.length - 1], new RegExp(`^engine lab: ${ENGINE_CHECK_NAMES.length} ok, 0 failed in [0-9.]+ s$`));
        assert.equal(run.status, 0);
        assert.deepEqual(left, { namespaces: [], processes: [] });
    });

    // Each --break plants one defect and the check that guards against it must fail, saying what it saw.
    const broken: Array<[EngineCheck, RegExp]> = [
        ["engine-preview-first", /^the first preview failed: error: Duplicate resource URN 'urn:pulumi:lab::k3smc-engine-lab::k3s-multicloud:lab:EngineLabCluster\$command:local:Command::lab-mesh-ready'; try giving it a unique name$/],
        ["engine-up", /^pulumi up failed: .*k3s-multicloud \[(swas|vultr)-1\] ERROR: the WireGuard mesh did not form:/],
        ["engine-no-change", /^preview --expect-no-changes failed: update lab-clock$/],
        ["engine-refresh", /^after the refresh, a preview would change update lab-swas-1-prune$/],
        ["engine-state-secrets", /^in plain text in the state: lab:agentToken$/],
        ["engine-config-change", /^the server drained another node: .* drain .* -- (home-1|swas-1)/],
        ["engine-library-upgrade", /^a comment in every host file: update lab-home-1-prepare, update lab-swas-1-prepare, update lab-vultr-1-prepare$/],
        ["engine-hostkey-changed", /^up succeeded against a host with another key \([1-9][0-9]* login\(s\) accepted there\)$/],
        ["engine-interrupted", /^the next up after no recovery failed: error: the stack is currently locked by 1 lock\(s\)\. Either wait for the other process\(es\) to end or delete the lock file with `pulumi cancel`\./],
        ["engine-remove-node", /^the stored removal did not drain and delete home-1 through the server: /],
        ["engine-remove-unreachable", /^removing the unreachable vultr-1 failed after [0-9]+ s: .*ERROR: uninstall k3s on vultr-1: SSH to 203\.0\.113\.30:22 failed: root@203\.0\.113\.30: Permission denied \(publickey\)\./],
        ["engine-destroy", /^left on the hosts: swas: opt\/k3s-multicloud$/],
    ];
    for (const [check, expected] of broken) {
        it(`--break ${check} makes ${check} fail, in words`, async () => {
            const [result] = await runEngineLab({ engine, breaks: [check], only: [check] });
            assert.equal(result.name, check);
            assert.equal(result.ok, false, `the check passed with its defect planted: ${result.detail}`);
            assert.match(result.detail, expected);
        });
    }
});
