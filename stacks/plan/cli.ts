// `npm run plan -- <stack>`: the offline plan of a stack, printed as Markdown. No Pulumi CLI, no credentials.
import { ConfigError } from "../../components/validation/configError";
import { evaluateStack, loadStackConfigFile } from "./evaluate";
import { renderPlan } from "./renderPlan";

async function main(): Promise<void> {
    const [stack, flag, dir] = process.argv.slice(2);
    if (!stack || (flag !== undefined && (flag !== "--config-dir" || !dir))) {
        console.error("usage: npm run plan -- <stack> [--config-dir DIR]   (reads DIR/Pulumi.<stack>.yaml, default stacks/)");
        process.exit(2);
    }
    const plan = await evaluateStack(stack, loadStackConfigFile(stack, dir));
    process.stdout.write(renderPlan(plan));
}

main().catch((error: unknown) => {
    // Configuration mistakes are the user's to fix: print the message alone. Anything else is a bug: print it all.
    console.error(error instanceof ConfigError ? `error: ${error.message}` : error);
    process.exit(1);
});
