// `npm run lab [-- --break node-external-ip|host-key] [--only check,...] [--quiet]`: builds the namespace lab, runs
// our registered steps in it over real SSH, prints one line per check (`ok <name>` or `FAIL <name>: <why>`) and a
// summary, and removes everything it made. Exit status 0 only when every check is ok. Needs root (namespaces).
import { BREAKS, CHECK_NAMES, LabBreak, runLab } from "./lab";

function usage(message: string): never {
    console.error(`${message}\nusage: npm run lab -- [--break ${Object.keys(BREAKS).join("|")}]... [--only ${CHECK_NAMES.join(",")}] [--quiet]`);
    process.exit(2);
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const breaks: LabBreak[] = [];
    let only: string[] | undefined;
    let quiet = false;
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (arg === "--break") {
            const name = args[++i];
            if (!(name in BREAKS)) usage(`unknown --break '${name ?? ""}'`);
            breaks.push(name as LabBreak);
        } else if (arg === "--only") {
            only = (args[++i] ?? "").split(",").filter(Boolean);
            const unknown = only.filter((name) => !CHECK_NAMES.includes(name));
            if (unknown.length > 0 || only.length === 0) usage(`unknown check(s) in --only: ${unknown.join(", ") || "(none given)"}`);
        } else if (arg === "--quiet") {
            quiet = true;
        } else {
            usage(`unknown argument '${arg}'`);
        }
    }
    if (process.getuid?.() !== 0) usage("the lab needs root: it creates network and mount namespaces, a user and an sshd per host");
    const started = Date.now();
    const results = await runLab({ breaks, only, progress: quiet ? undefined : (line) => console.error(`# ${line}`) });
    for (const result of results) console.log(result.ok ? `ok ${result.name}` : `FAIL ${result.name}: ${result.detail}`);
    const failed = results.filter((r) => !r.ok).length;
    console.log(`lab: ${results.length - failed} ok, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exitCode = 1;
});
