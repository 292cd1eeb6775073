import { strict as assert } from "node:assert";
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { resolve } from "node:path";
import { Engine } from "../../lab/engine/engine";
import { leftBehindBy } from "../lab/leftovers";
import { engineForLab } from "./engineForLab";
import { runStackLab, STACK_CHECK_NAMES, StackCheck } from "../../lab/engine/stackLab";

/**
 * The stack lab as CI runs it: the whole stack program (stacks/) under the real Pulumi engine, on the namespace lab's
 * hosts given as existing servers, with a real Kubernetes API on the server. Skips like the engine lab without a
 * built engine (and fails instead where .ci/run sets K3SMC_REQUIRE_ENGINE).
 */
const REPO = resolve(__dirname, "..", "..");

// The providers and the program the CLI runs, the hosts' WireGuard, and the API server with its datastore.
const LAB_PROCESS = /pulumi-resource-|pulumiWithProgram|^wireguard-go |kube-apiserver|kine /;

describe("the stack lab (npm run lab -- --stack)", function () {
    this.timeout(600_000);
    let engine: Engine;
    before(function () {
        engine = engineForLab(this);
    });

    it("every stack check is ok, one line each, and nothing of the lab is left behind", () => {
        let run!: SpawnSyncReturns<string>;
        const left = leftBehindBy(LAB_PROCESS, () => {
            run = spawnSync(process.execPath, ["-r", "tsx/cjs", "lab/cli.ts", "--stack", "--quiet"], { cwd: REPO, encoding: "utf8", timeout: 480_000 });
            return run.pid;
        });
        const printed = run.stdout.trim().split("\n");
        assert.deepEqual(printed.slice(0, -1).map((line) => /^ok ([a-z0-9-]+) - \S/.exec(line)?.[1]), [...STACK_CHECK_NAMES], run.stdout + run.stderr);
        assert.match(printed[printed.length - 1], new RegExp(`^stack lab: ${STACK_CHECK_NAMES.length} ok, 0 failed in [0-9.]+ s$`));
        assert.equal(run.status, 0);
        assert.deepEqual(left, { namespaces: [], processes: [] });
    });

    // Each --break plants one defect and the check that guards against it must fail, saying what it saw.
    const broken: Array<[StackCheck, RegExp]> = [
        ["stack-up", /^the preview of the stack program failed: .*homeSshKey/],
        ["stack-doctor", /^doctor exits 1: home-1 /],
        ["engine-replaced-machine", /^pulumi up with vultr-1 on a new machine failed: .*the server refuses vultr-1: it holds the node password of another machine under this name/],
        ["stack-destroy", /^left on the hosts: home: usr\/local\/bin\/k3s; /],
        ["engine-yaml", /^pulumi config set sshPrivateKey in the YAML project failed: error: could not unmarshal '.*\/Pulumi\.yaml': Configuration key 'vultr:apiKey' is not namespaced by the project and should not define a type$/],
    ];
    for (const [check, expected] of broken) {
        it(`--break ${check} makes ${check} fail, in words`, async () => {
            const [result] = await runStackLab({ engine, breaks: [check], only: [check] });
            assert.equal(result.name, check);
            assert.equal(result.ok, false, `the check passed with its defect planted: ${result.detail}`);
            assert.match(result.detail, expected);
        });
    }
});
