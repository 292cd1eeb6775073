import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { HOST_DIR, buildToolkit, committedPayload, shippedToolkit, stripComments } from "../../components/toolkit/bundle";
import { STEP_REVISIONS, TOOLKIT_VERBS, ToolkitVerb, nodeFingerprint, toolkitCall } from "../../components/toolkit/contract";
import { ScriptSandbox } from "../harness/scriptSandbox";

const VERBS = Object.keys(TOOLKIT_VERBS) as ToolkitVerb[];
const variableOf = (flag: string) => `K3SMC_${flag.toUpperCase().replace(/-/g, "_")}`;

describe("toolkit contract (pure)", () => {
    it("renders a call as the toolkit path, the contract, the verb and its flags in the table's order", () => {
        assert.equal(
            toolkitCall("mesh-check", { "mesh-timeout": 180, role: "agent", "node-name": "tokyo-1", peers: "a=192.0.2.1" }, false),
            "/opt/k3s-multicloud/bin/k3smc v1 mesh-check --node-name tokyo-1 --role agent --peers a=192.0.2.1 --mesh-timeout 180",
        );
        assert.equal(toolkitCall("prune", { "node-name": "home-1" }, true), "sudo -n /opt/k3s-multicloud/bin/k3smc v1 prune --node-name home-1");
    });

    it("quotes only what is not a plain word", () => {
        assert.equal(
            toolkitCall("install", { "node-name": "a", role: "agent", version: "v1.33.6+k3s1", mirror: "github", "ready-timeout": 5, config: "a: 'b'\nc: d\n" }, false),
            "/opt/k3s-multicloud/bin/k3smc v1 install --node-name a --role agent --version v1.33.6+k3s1 --mirror github --ready-timeout 5 --config 'a: '\\''b'\\''\nc: d\n'",
        );
    });

    it("refuses a flag the verb does not take and a number that is not whole, before anything is rendered", () => {
        assert.throws(() => toolkitCall("prune", { "node-name": "a", role: "agent" } as never, false), { message: "k3smc prune takes no --role" });
        assert.throws(() => toolkitCall("restart", { "node-name": "a", "ready-timeout": "1; reboot" }, false), {
            message: 'k3smc restart --ready-timeout must be a whole number, not "1; reboot"',
        });
        assert.throws(() => toolkitCall("restart", { "node-name": "a", "ready-timeout": 2.5 }, false), {
            message: "k3smc restart --ready-timeout must be a whole number, not 2.5",
        });
    });

    it("adds --step-revision only to a step whose revision was bumped on purpose", () => {
        // 0.4.0 bumps the host firewall: every node programs the spoofing check and member-only ufw rules once.
        assert.deepEqual(Object.entries(STEP_REVISIONS).filter(([, revision]) => revision !== 1), [["firewall", 2]]);
        const bumped = { ...STEP_REVISIONS, install: 2 };
        assert.equal(
            toolkitCall("install", { "node-name": "a" }, false, bumped),
            "/opt/k3s-multicloud/bin/k3smc v1 install --node-name a --step-revision 2",
        );
        assert.equal(toolkitCall("prune", { "node-name": "a" }, false, bumped), "/opt/k3s-multicloud/bin/k3smc v1 prune --node-name a");
    });

    it("fingerprints a node as sha256 of the version line and config.yaml", () => {
        // Known answer: `printf 'v1.33.6+k3s1\nnode-name: a\n' | sha256sum`, what the host computes.
        assert.equal(nodeFingerprint("v1.33.6+k3s1", "node-name: a\n"), "806f3483c3252930d9abb16d770ae8ea86509d7af9d9ae50c400b46ca3308382");
        assert.notEqual(nodeFingerprint("v1.33.6+k3s1", "node-name: a\n"), nodeFingerprint("v1.34.2+k3s1", "node-name: a\n"));
    });
});

describe("toolkit bundle", () => {
    it("keeps the committed payload in step with the host files (npm run toolkit:payload)", () => {
        const built = buildToolkit();
        assert.ok(committedPayload(built.text) !== undefined, "components/toolkit/k3smc.payload is stale: run `npm run toolkit:payload` and commit it");
        const shipped = shippedToolkit();
        assert.equal(gunzipSync(Buffer.from(shipped.payload, "base64")).toString("utf8"), shipped.text);
        assert.equal(shipped.id, built.id);
    });

    it("names a toolkit by its code only: a comment edit changes nothing, a code edit changes the id", () => {
        const read = (file: string) => readFileSync(join(HOST_DIR, file), "utf8");
        const base = buildToolkit(read);
        const comment = buildToolkit((file) => (file === "lib.sh" ? `${read(file)}# a harmless comment\n` : read(file)));
        const code = buildToolkit((file) => (file === "lib.sh" ? `${read(file)}true\n` : read(file)));
        assert.equal(comment.sha256, base.sha256);
        assert.notEqual(code.id, base.id);
        assert.match(base.id, /^[0-9a-f]{16}$/);
        assert.equal(base.text.split("\n").slice(0, 4).join("\n"), [
            "#!/usr/bin/env bash",
            `# k3s-multicloud host toolkit ${base.id}. Generated from components/toolkit/host in the k3s-multicloud package.`,
            `K3SMC_TOOLKIT_ID=${base.id}`,
            'K3SMC_CONTRACTS="v1"',
        ].join("\n"));
    });

    it("strips comment-only and blank lines and nothing else", () => {
        assert.equal(stripComments("#!/x\n# c\n  # d\n\necho '# not a comment' # trailing\n"), "echo '# not a comment' # trailing");
    });

    it("has one host file per verb and reads only the flags each verb declares", () => {
        const lib = readFileSync(join(HOST_DIR, "lib.sh"), "utf8");
        const shared = new Set(["K3SMC_ROOT", "K3SMC_POLL_INTERVAL", "K3SMC_INSTALLER_TIMEOUT", "K3SMC_NODE_NAME", "K3SMC_TOOLKIT_ID", "K3SMC_CONTRACTS"]);
        for (const verb of VERBS) {
            const path = join(HOST_DIR, "verbs", `${verb}.sh`);
            assert.ok(existsSync(path), `${verb} has no host file`);
            const source = stripComments(readFileSync(path, "utf8"));
            const declared = TOOLKIT_VERBS[verb].flags.map(variableOf);
            const assigned = new Set([...source.matchAll(/\b(K3SMC_[A-Z_]+)=/g)].map((m) => m[1]));
            const read = new Set([...source.matchAll(/\$\{?(K3SMC_[A-Z_]+)/g)].map((m) => m[1]));
            for (const variable of read) {
                assert.ok(declared.includes(variable) || shared.has(variable) || assigned.has(variable), `${verb} reads ${variable}, which none of its flags sets`);
            }
            for (const variable of declared) {
                assert.ok(read.has(variable) || lib.includes(variable), `${verb} declares --${variable} but never reads it`);
            }
            // The header says which flags the verb takes, as the table does.
            const header = /# Flags: ([^\n]+(?:\n# [^\n]+)*)/.exec(readFileSync(path, "utf8"))?.[1] ?? "";
            assert.deepEqual([...header.matchAll(/--([a-z-]+)/g)].map((m) => m[1]), [...TOOLKIT_VERBS[verb].flags], `${verb}.sh header`);
        }
    });
});

describe("toolkit entry point (real bash)", () => {
    let box: ScriptSandbox;
    beforeEach(() => (box = new ScriptSandbox()));
    afterEach(() => box.cleanup());
    const k3smc = "/opt/k3s-multicloud/bin/k3smc";

    it("declares for each verb exactly the flags of the contract table", () => {
        for (const verb of VERBS) {
            const run = box.run(`${k3smc} flags ${verb}`);
            assert.equal(run.stdout, `${TOOLKIT_VERBS[verb].flags.join(" ")}\n`, verb);
        }
    });

    it("refuses a number that is not whole before any arithmetic, and runs nothing of it", () => {
        const run = box.run(`${k3smc} v1 restart --node-name a --role agent --ready-timeout '$(touch "$K3SMC_ROOT/pwned")1'`);
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud [a] ERROR: --ready-timeout must be a whole number, not '$(touch \"$K3SMC_ROOT/pwned\")1'\n");
        assert.equal(box.exists("pwned"), false);
        assert.deepEqual(box.calls(), []);
    });

    it("refuses an unknown flag, naming the ones the verb takes", () => {
        const run = box.run(`${k3smc} v1 uninstall --node-name a --role agent --force yes`);
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud [a] ERROR: k3smc uninstall takes no --force; it takes: --node-name --role\n");
    });

    it("ignores the caller's K3SMC_* environment: only flags set the verb's inputs", () => {
        const run = box.run(`K3SMC_ROLE=server ${k3smc} v1 uninstall --node-name a`);
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud [a] ERROR: --role must be server or agent, not ''\n");
    });

    it("refuses a contract it does not speak, saying which release to run", () => {
        const run = box.run(`${k3smc} v2 uninstall --node-name a --role agent`);
        assert.equal(run.status, 1);
        assert.match(run.stderr, /ERROR: this toolkit \([0-9a-f]{16}\) speaks contracts v1, not v2: the step was written by a newer k3s-multicloud release\. Run 'pulumi up' with that release, which delivers its toolkit first\.\n$/);
    });

    it("replaces an older toolkit atomically and removes it", () => {
        const read = (file: string) => readFileSync(join(HOST_DIR, file), "utf8");
        const older = buildToolkit((file) => (file === "lib.sh" ? `${read(file)}true\n` : read(file)));
        box.deliver(older);
        assert.equal(box.run(`readlink ${k3smc}`).stdout, `../toolkit/${older.id}/k3smc\n`);
        const current = shippedToolkit();
        const run = box.deliver(current, "status");
        assert.match(run.stdout, new RegExp(`^k3s-multicloud: toolkit ${current.id} installed in /opt/k3s-multicloud/toolkit/${current.id}\\ntoolkit: +${current.id} `));
        assert.equal(box.run("ls -A /opt/k3s-multicloud/toolkit").stdout, `${current.id}\n`);
        assert.equal(box.run(`readlink ${k3smc}`).stdout, `../toolkit/${current.id}/k3smc\n`);
    });
});
