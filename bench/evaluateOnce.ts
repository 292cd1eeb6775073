// One evaluation of the real program under runtime mocks, in its own process (mocks are process-global, and peak
// memory is per process). Prints one JSON line: timing, peak RSS and the registered graph.
import * as pulumi from "@pulumi/pulumi";
import { deployStack } from "../stacks/program";
import { placeholderCloud } from "../stacks/plan/evaluate";
import { RecordingMocks, resolve } from "../stacks/plan/recordingMocks";
import { generateStack } from "./generateStack";

/**
 * Diagnostic variants that change the runtime, not our program, to show where the time goes: without the SDK's
 * per-promise stack capture (`debuggablePromise` records `new Error().stack` on every promise it creates, for its
 * leak report), and without source-mapped stack traces (tsx enables them; a compiled consumer does not).
 */
function applyDiagnosticVariant(variant: string | undefined): void {
    if (variant === "no-promise-stacks") {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const debuggable = require("@pulumi/pulumi/runtime/debuggable.js") as { debuggablePromise: (p: unknown) => unknown };
        debuggable.debuggablePromise = (p) => p;
    }
    if (variant === "no-source-maps" || variant === "no-promise-stacks") process.setSourceMapsEnabled(false);
}

async function main(): Promise<void> {
    const size = Number(process.argv[2]);
    applyDiagnosticVariant(process.argv[3]);
    const variant = process.argv[3] === "taint-first-agent" ? { taintFirstAgent: true } : {};
    const stack = generateStack(size, variant);
    const cloud = placeholderCloud();
    const recorder = await RecordingMocks.install({ preview: false, stack: "bench", newResource: cloud.newResource, call: cloud.call });
    const started = process.hrtime.bigint();
    const deployed = deployStack("bench", stack, () => pulumi.secret("[secret]"));
    await resolve(deployed.cluster.nodes);
    await recorder.settle();
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    const urnToName = new Map(recorder.registrations.map((r) => [r.urn, r.name]));
    const graph = recorder.registrations.map((r) => ({
        name: r.name,
        type: r.type,
        parent: urnToName.get(r.parent) ?? "",
        dependsOn: r.dependencies.map((urn) => urnToName.get(urn) ?? urn),
        inputs: JSON.stringify(r.inputs),
    }));
    process.stdout.write(JSON.stringify({ size, elapsedMs, peakRssMiB, resources: graph.length, graph }) + "\n");
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
