// What the engine lab's program registers under runtime mocks, for the same stack config the engine gets: the
// mocks' prediction that the engine lab holds the real engine to. Reads {config, secretKeys, program} as JSON on stdin,
// prints the registered graph (name, type, dependencies, inputs as JSON) as one line. One process per evaluation:
// mocks and config are process-global.
import * as pulumi from "@pulumi/pulumi";
import { resolve as resolvePath } from "node:path";
import { placeholderCloud } from "../../stacks/plan/evaluate";
import { RecordingMocks } from "../../stacks/plan/recordingMocks";

async function main(): Promise<void> {
    const input = JSON.parse(await new Promise<string>((done) => {
        let text = "";
        process.stdin.on("data", (chunk) => (text += chunk));
        process.stdin.on("end", () => done(text));
    })) as { config: Record<string, string>; secretKeys: string[]; program: string; stack: string; project: string };
    pulumi.runtime.setAllConfig(input.config, input.secretKeys);
    const cloud = placeholderCloud();
    const recorder = await RecordingMocks.install({ preview: false, project: input.project, stack: input.stack, newResource: cloud.newResource, call: cloud.call });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(resolvePath(input.program)) as { default: () => unknown };
    program.default();
    await recorder.settle();
    const urnToName = new Map(recorder.registrations.map((r) => [r.urn, r.name]));
    const graph = recorder.registrations.map((r) => ({
        name: r.name,
        type: r.type,
        dependsOn: r.dependencies.map((urn) => urnToName.get(urn) ?? urn),
        inputs: JSON.stringify(r.inputs),
    }));
    process.stdout.write(JSON.stringify({ graph, duplicateUrns: recorder.duplicateUrns() }) + "\n");
}

main().catch((error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
});
