import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { StepRunner } from "../../lab/steps";
import { LAB_ADDRESSES, LabWorld, labMissing } from "../../lab/world";

/**
 * Another test run on the same machine adds and removes its own user (the lab, the real-SSH tests): useradd, usermod
 * and userdel replace /etc/shadow by renaming a new file over it. The SWAS-like host's root password must survive
 * that, or every password login to it fails with "Permission denied (password)" (what a user saw running the lab
 * beside another test run).
 */
const missing = labMissing();

describe("the lab beside another run that adds and removes users", function () {
    this.timeout(120_000);
    let world: LabWorld | undefined;
    before(function () {
        if (missing) {
            console.log(`      skipped: ${missing}`);
            this.skip();
        }
    });
    after(() => world?.teardown());

    it("the SWAS-like host still takes its root password after this machine's /etc/shadow was replaced", async () => {
        world = new LabWorld();
        const password = `lab-${process.pid}-Pw9!`;
        await world.build(password);
        const runner = new StepRunner(world);
        const login = () => runner.remote({ host: LAB_ADDRESSES.swasPublic, user: "root", password, hostKey: world!.hostPublicKey("swas") }, "echo logged-in");
        assert.equal(login().stdout.trim(), "logged-in");
        const other = `k3smc-other-${process.pid}`;
        execFileSync("useradd", ["--system", "--no-create-home", other]);
        execFileSync("userdel", [other]);
        const after = login();
        assert.equal(`${after.status} ${after.stdout.trim()}`, "0 logged-in", after.stderr);
    });
});
