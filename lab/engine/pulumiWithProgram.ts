// `tsx lab/engine/pulumiWithProgram.ts <program module> <pulumi args...>`: runs the real Pulumi CLI with our
// TypeScript program served to it in this process, the way the Automation API runs an inline program.
//
// Why: the CLI reaches a program through its Node.js language host, pulumi-language-nodejs, whose Go module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) the Go module proxy here does not serve. The
// SDK itself carries the other way in: its Automation API serves the program with the SDK's own language runtime
// (`@pulumi/pulumi/automation/server`, LanguageServer) and passes `--client=<address>` to `pulumi preview|up|refresh|
// destroy`. This does exactly that, with the CLI's own command line and output, so a run reads as `pulumi up` does.
// The program module runs on the CLI's Run request: it registers its resources then (a module whose top level is the
// program, as stacks/index.ts), or exports a default function that does.
//
// The CLI's PID is written to $K3SMC_ENGINE_CLI_PID_FILE when set (the engine lab's interruption check kills it);
// SIGINT and SIGTERM are passed on to it (Pulumi's graceful cancel). Exit status: the CLI's.
import * as grpc from "@grpc/grpc-js";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { constants } from "node:os";
import { resolve } from "node:path";
import * as langrpc from "@pulumi/pulumi/proto/language_grpc_pb";

// The SDK's language runtime for inline programs and its channel options are internal (their typings export
// nothing): loaded by path, typed here.
/* eslint-disable @typescript-eslint/no-require-imports */
const { LanguageServer } = require("@pulumi/pulumi/automation/server") as {
    LanguageServer: new (program: () => Promise<unknown>) => grpc.UntypedServiceImplementation;
};
const { grpcChannelOptions } = require("@pulumi/pulumi/runtime/settings") as { grpcChannelOptions: grpc.ChannelOptions };
/* eslint-enable @typescript-eslint/no-require-imports */

/** The verbs that run the program; the others (stack, config, cancel, ...) are passed to the CLI as they are. */
const PROGRAM_VERBS = new Set(["preview", "up", "update", "refresh", "destroy"]);

async function main(): Promise<void> {
    const [programPath, ...cliArgs] = process.argv.slice(2);
    if (!programPath || cliArgs.length === 0) {
        console.error("usage: tsx lab/engine/pulumiWithProgram.ts <program module> <pulumi args...>");
        process.exit(2);
    }
    const pulumiBinary = process.env.K3SMC_PULUMI ?? "pulumi";
    const args = [...cliArgs];
    let server: grpc.Server | undefined;
    if (PROGRAM_VERBS.has(cliArgs[0])) {
        // `pulumi up` asks for the program twice (its preview, then the update): each run loads our modules afresh,
        // keeping the SDK's (its runtime state is what the language runtime set up for this run).
        const program = async () => {
            for (const loaded of Object.keys(require.cache)) if (!loaded.includes("/node_modules/")) delete require.cache[loaded];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const module = require(resolve(programPath)) as Record<string, unknown>;
            return typeof module.default === "function" ? await (module.default as () => unknown)() : { ...module };
        };
        server = new grpc.Server({ ...grpcChannelOptions });
        server.addService(langrpc.LanguageRuntimeService, new LanguageServer(program));
        const port = await new Promise<number>((done, fail) =>
            server!.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? fail(error) : done(bound))),
        );
        args.push(`--client=127.0.0.1:${port}`);
    }
    const cli = spawn(pulumiBinary, args, { stdio: "inherit" });
    if (process.env.K3SMC_ENGINE_CLI_PID_FILE && cli.pid) writeFileSync(process.env.K3SMC_ENGINE_CLI_PID_FILE, `${cli.pid}\n`);
    for (const name of ["SIGINT", "SIGTERM"] as const) process.on(name, () => cli.kill(name));
    const status = await new Promise<number>((done) => cli.on("exit", (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0))));
    server?.forceShutdown();
    process.exit(status);
}

main().catch((error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
});
