// One evaluation of the real program under runtime mocks, in its own process (mocks are process-global, and peak
// memory is per process). Prints one JSON line: timing, peak RSS and the registered graph.
import * as pulumi from "@pulumi/pulumi";
import { deployStack } from "../stacks/program";
import { placeholderCloud } from "../stacks/plan/evaluate";
import { RecordingMocks, resolve } from "../stacks/plan/recordingMocks";
import { applyDiagnosticVariant } from "./diagnosticVariant";
import { generateStack } from "./generateStack";

async function main(): Promise<void> {
    const size = Number(process.argv[2]);
    applyDiagnosticVariant(process.argv[3]);
    const variant = process.argv[3] === "taint-first-agent" ? { taintFirstAgent: true } : {};
    const stack = generateStack(size, variant);
    const cloud = placeholderCloud();
    const recorder = await RecordingMocks.install({ preview: false, stack: "bench", newResource: cloud.newResource, call: cloud.call });
    const loadedRssMiB = process.memoryUsage().rss / 2 ** 20;
    const started = process.hrtime.bigint();
    const deployed = deployStack("bench", stack, () => pulumi.secret("[secret]"));
    await resolve(deployed.cluster.nodes);
    await recorder.settle();
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    const urnToName = new Map(recorder.registrations.map((r) => [r.urn, r.name]));
    // A parent by its place in this list: names alone are not unique (the cluster component and K3sCluster share one).
    const urnToIndex = new Map(recorder.registrations.map((r, index) => [r.urn, index]));
    const graph = recorder.registrations.map((r) => ({
        name: r.name,
        type: r.type,
        parent: urnToIndex.get(r.parent) ?? -1,
        dependsOn: r.dependencies.map((urn) => urnToName.get(urn) ?? urn),
        inputs: JSON.stringify(r.inputs),
    }));
    process.stdout.write(JSON.stringify({ size, elapsedMs, peakRssMiB, loadedRssMiB, resources: graph.length, graph }) + "\n");
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
