import { spawnSync } from "node:child_process";
import { Engine, locateEngine } from "../../lab/engine/engine";

/** Whether .ci/run asked for the engine suites: there a missing engine or lab tool fails them instead of skipping. */
export const ENGINE_REQUIRED = process.env.K3SMC_REQUIRE_ENGINE === "1";

/**
 * The built engine, for the `before` hook of a suite that runs a lab under it (the engine and stack labs): without
 * the engine (engine/build.sh) or the lab's needs (root, the Debian packages .ci/run installs), the suite skips
 * saying why - or fails, where .ci/run sets K3SMC_REQUIRE_ENGINE.
 */
export function engineForLab(suite: Mocha.Context): Engine {
    const located = locateEngine();
    if ("missing" in located) {
        if (ENGINE_REQUIRED) throw new Error(`K3SMC_REQUIRE_ENGINE is set but the engine is not built: ${located.missing}`);
        console.log(`      skipped: no engine built (${located.missing})`);
        suite.skip();
    }
    const labTools = process.getuid?.() === 0 && ["wireguard-go", "wg", "nft", "ufw", "sshd", "openssl"].every((tool) => spawnSync("bash", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status === 0);
    if (!labTools) {
        if (ENGINE_REQUIRED) throw new Error("K3SMC_REQUIRE_ENGINE is set but the lab cannot run here (root and the lab's Debian packages)");
        console.log("      skipped: the lab needs root and the Debian packages .ci/run installs");
        suite.skip();
    }
    return located as Engine;
}
