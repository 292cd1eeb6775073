// `npm run plan -- <stack>`: the offline plan of a stack, printed as Markdown. No Pulumi CLI, no credentials.
import { ConfigError } from "../../components/validation/configError";
import { evaluateStack, loadStackConfigFile } from "./evaluate";
import { renderPlan, renderPrPlan } from "./renderPlan";

const USAGE = "usage: npm run plan -- <stack> [--config-dir DIR] [--pr [--budget CHARS]]   (reads DIR/Pulumi.<stack>.yaml, default stacks/; --pr: sized for a pull-request comment)";

async function main(): Promise<void> {
    const [stack, ...flags] = process.argv.slice(2);
    let dir: string | undefined;
    let pr = false;
    let budget = 60_000;
    for (let i = 0; i < flags.length; i++) {
        const [flag, value] = [flags[i], flags[i + 1]];
        if (flag === "--pr") pr = true;
        else if (flag === "--config-dir" && value) dir = flags[++i];
        else if (flag === "--budget" && /^[0-9]+$/.test(value ?? "")) budget = Number(flags[++i]);
        else usage();
    }
    if (!stack) usage();
    const plan = await evaluateStack(stack, loadStackConfigFile(stack, dir));
    process.stdout.write(pr ? renderPrPlan(plan, budget) : renderPlan(plan));
}

function usage(): never {
    console.error(USAGE);
    process.exit(2);
}

main().catch((error: unknown) => {
    // Configuration mistakes are the user's to fix: print the message alone. Anything else is a bug: print it all.
    console.error(error instanceof ConfigError ? `error: ${error.message}` : error);
    process.exit(1);
});
