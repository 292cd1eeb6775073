import { strict as assert } from "node:assert";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_SSH_PROGRAMS, localToolsVerdict, missingPrograms } from "../../components/hosts/localTools";

describe("OpenSSH on the machine running pulumi, checked before anything is registered", () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "k3smc-tools-"));
        for (const sub of ["a", "b"]) mkdirSync(join(dir, sub));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function place(sub: string, name: string, mode: number): void {
        writeFileSync(join(dir, sub, name), "#!/bin/sh\n");
        chmodSync(join(dir, sub, name), mode);
    }

    it("finds programs in any PATH directory, and not files that are not executable", () => {
        place("a", "ssh", 0o755);
        place("b", "ssh-agent", 0o755);
        place("b", "ssh-add", 0o644);
        assert.deepEqual(missingPrograms(LOCAL_SSH_PROGRAMS, `${join(dir, "a")}::${join(dir, "b")}`), ["ssh-add", "ssh-keyscan"]);
    });

    it("fails an up and warns a preview, naming each missing program and the package that has it", () => {
        assert.deepEqual(localToolsVerdict([], false), { kind: "ok" });
        const message =
            "this machine (the one running pulumi) has no 'ssh-agent', 'ssh-keyscan' on its PATH: the host-key checks and the upgrade and " +
            "removal steps run OpenSSH's client here. Install it (Debian, Ubuntu: apt-get install openssh-client; Alpine: apk add openssh-client; " +
            "macOS and Windows 10+ ship it) and run again.";
        assert.deepEqual(localToolsVerdict(["ssh-agent", "ssh-keyscan"], false), { kind: "error", message });
        assert.deepEqual(localToolsVerdict(["ssh-agent", "ssh-keyscan"], true), { kind: "warn", message });
    });
});
