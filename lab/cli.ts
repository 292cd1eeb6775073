// `npm run lab [-- --break node-external-ip|host-key|agent-token] [--only check,...] [--quiet]`: builds the namespace
// lab, runs our registered steps in it over real SSH, prints one line per check (`ok <name> - <what it proved>` or
// `FAIL <name>: <why>`)
// and a summary, and removes everything it made. Exit status 0 only when every check is ok. Needs root (namespaces).
//
// `npm run lab -- --engine [--break <engine check>]... [--only ...]`: the same hosts, with our program run by the real
// Pulumi engine (engine/build.sh builds it first).
//
// `npm run lab -- --stack [--break <stack check>]... [--only ...]`: the whole stack program (stacks/) run by the real
// engine on the same hosts, given as existing servers in a lab stack file: up, doctor, a node moved to a new machine,
// destroy.
//
// `npm run lab -- --doctor [--only healthy,stale-peer,...]`: the lab's cluster, then doctor's report on it healthy and
// after each break (docs/operations.md, "Operating the cluster").
import { renderReport } from "../components/doctor/report";
import { DOCTOR_SCENARIOS, DoctorScenario, runDoctorLab } from "./doctorLab";
import { BREAKS, CHECK_NAMES, CheckResult, LabBreak, runLab } from "./lab";
import { locateEngine } from "./engine/engine";
import { ENGINE_BREAKS, ENGINE_CHECK_NAMES, EngineCheck, runEngineLab } from "./engine/engineLab";
import { runStackLab, STACK_BREAKS, STACK_CHECK_NAMES, StackCheck } from "./engine/stackLab";

function usage(message: string, status = 2): never {
    (status === 0 ? console.log : console.error)(
        `${message}\nusage: npm run lab -- [--break ${Object.keys(BREAKS).join("|")}]... [--only ${CHECK_NAMES.join(",")}] [--quiet]\n` +
            `       npm run lab -- --engine [--break ${ENGINE_CHECK_NAMES.join("|")}]... [--only ${ENGINE_CHECK_NAMES.join(",")}] [--quiet]\n` +
            `       npm run lab -- --stack [--break ${STACK_CHECK_NAMES.join("|")}]... [--only ${STACK_CHECK_NAMES.join(",")}] [--quiet]\n` +
            `       npm run lab -- --doctor [--only ${DOCTOR_SCENARIOS.join(",")}] [--quiet]`,
    );
    process.exit(status);
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    if (args.includes("--help") || args.includes("-h")) usage("The namespace lab: real SSH, NAT, WireGuard and firewalls on this machine; k3s and the clouds stood in.", 0);
    if (args.includes("--doctor")) {
        const onlyIndex = args.indexOf("--only");
        const scenarios = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? "").split(",") : [...DOCTOR_SCENARIOS];
        const unknown = scenarios.filter((s) => !(DOCTOR_SCENARIOS as readonly string[]).includes(s));
        if (unknown.length > 0) usage(`unknown doctor scenario(s): ${unknown.join(", ")}; there are ${DOCTOR_SCENARIOS.join(", ")}`);
        if (process.getuid?.() !== 0) usage("the lab needs root: it creates network and mount namespaces, a user and an sshd per host");
        const results = await runDoctorLab({ scenarios: scenarios as DoctorScenario[], progress: args.includes("--quiet") ? undefined : (line) => console.error(`# ${line}`) });
        for (const result of results) console.log(`=== ${result.scenario}: doctor exits ${result.exitStatus} after ${result.seconds.toFixed(1)} s\n${renderReport(result.rows)}`);
        return;
    }
    const engine = args.includes("--engine");
    const stack = args.includes("--stack");
    const breakNames: readonly string[] = stack ? STACK_CHECK_NAMES : engine ? ENGINE_CHECK_NAMES : Object.keys(BREAKS);
    const checkNames: readonly string[] = stack ? STACK_CHECK_NAMES : engine ? ENGINE_CHECK_NAMES : CHECK_NAMES;
    const breaks: string[] = [];
    let only: string[] | undefined;
    let quiet = false;
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (arg === "--engine" || arg === "--stack") continue;
        if (arg === "--break") {
            const name = args[++i];
            if (!breakNames.includes(name)) usage(`unknown --break '${name ?? ""}'`);
            breaks.push(name);
        } else if (arg === "--only") {
            only = (args[++i] ?? "").split(",").filter(Boolean);
            const unknown = only.filter((name) => !checkNames.includes(name));
            if (unknown.length > 0 || only.length === 0) usage(`unknown check(s) in --only: ${unknown.join(", ") || "(none given)"}`);
        } else if (arg === "--quiet") {
            quiet = true;
        } else {
            usage(`unknown argument '${arg}'`);
        }
    }
    if (process.getuid?.() !== 0) usage("the lab needs root: it creates network and mount namespaces, a user and an sshd per host");
    const started = Date.now();
    const progress = quiet ? undefined : (line: string) => console.error(`# ${line}`);
    let results: CheckResult[];
    if (engine || stack) {
        const located = locateEngine();
        if ("missing" in located) usage(`the engine is not built: ${located.missing}`);
        for (const name of breaks) progress?.(`--break ${name}: ${stack ? STACK_BREAKS[name as StackCheck] : ENGINE_BREAKS[name as EngineCheck]}`);
        results = stack
            ? await runStackLab({ engine: located, breaks: breaks as StackCheck[], only, progress })
            : await runEngineLab({ engine: located, breaks: breaks as EngineCheck[], only, progress });
    } else {
        results = await runLab({ breaks: breaks as LabBreak[], only, progress });
    }
    // Each line says what the check proved (or why it failed), in words; the name is what --only and --break take.
    for (const result of results) console.log(result.ok ? `ok ${result.name} - ${result.detail}` : `FAIL ${result.name}: ${result.detail}${result.hosts ? ` [hosts: ${result.hosts}]` : ""}`);
    const failed = results.filter((r) => !r.ok).length;
    console.log(`${stack ? "stack lab" : engine ? "engine lab" : "lab"}: ${results.length - failed} ok, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exitCode = 1;
});
