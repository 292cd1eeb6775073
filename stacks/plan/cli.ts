// `npm run plan -- <stack>`: the offline plan of a stack, printed as Markdown. No Pulumi CLI, no credentials.
import { ConfigError, ConfigErrors } from "../../components/validation/configError";
import { evaluateStack, loadStackFile } from "./evaluate";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { renderPlanDiff } from "./planDiff";
import { PlanData, renderPlan, renderPrPlan } from "./renderPlan";

const USAGE =
    "usage: npm run plan -- <stack> [--config-dir DIR] [--pr [--budget CHARS]] [--json] [--against PLAN.json]\n" +
    "  reads DIR/Pulumi.<stack>.yaml (default stacks/); --pr: sized for a pull-request comment; --json: the plan's data,\n" +
    "  for a later --against; --against: start with what changed since that plan (e.g. the base branch's)";

async function main(): Promise<void> {
    const [stack, ...flags] = process.argv.slice(2);
    if (stack === "--help" || stack === "-h" || flags.includes("--help")) {
        process.stdout.write(`${USAGE}\n`);
        return;
    }
    let dir: string | undefined;
    let pr = false;
    let budget = 60_000;
    let json = false;
    let against: string | undefined;
    for (let i = 0; i < flags.length; i++) {
        const [flag, value] = [flags[i], flags[i + 1]];
        if (flag === "--pr") pr = true;
        else if (flag === "--config-dir" && value) dir = flags[++i];
        else if (flag === "--budget" && /^[0-9]+$/.test(value ?? "")) budget = Number(flags[++i]);
        else if (flag === "--json") json = true;
        else if (flag === "--against" && value) against = flags[++i];
        else usage();
    }
    if (!stack) usage();
    const file = loadStackFile(stack, dir);
    const plan = await evaluateStack(stack, file.values, file.secureKeys);
    if (json) {
        process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
        return;
    }
    let diff = "";
    if (against !== undefined) {
        let before: PlanData;
        try {
            before = JSON.parse(readFileSync(against, "utf8")) as PlanData;
        } catch (error) {
            throw new ConfigError("--against", against, `cannot be read as a plan (${(error as Error).message.split("\n")[0]})`, "Give a file written by `npm run plan -- <stack> --json`.");
        }
        diff = `${renderPlanDiff(before, plan, basename(against))}\n`;
    }
    const body = pr ? renderPrPlan(plan, Math.max(0, budget - diff.length)) : renderPlan(plan);
    process.stdout.write(diff + body);
}

function usage(): never {
    console.error(USAGE);
    process.exit(2);
}

main().catch((error: unknown) => {
    // Configuration mistakes are the user's to fix: print the message alone. Anything else is a bug: print it all.
    console.error(error instanceof ConfigError || error instanceof ConfigErrors ? `error: ${error.message}` : error);
    process.exit(1);
});
