// Diagnostic: the Pulumi SDK's own cost for the resources the program registers. Registers the same resources (same
// types, names, parents and recorded inputs, through the providers' own SDK classes, so each has its full set of
// output properties) with none of the program's logic: no outputs passed between resources, no apply, no
// validation, no dependencies. Whatever the program costs beyond this is ours; this part is not.
// Usage: sdkFloorOnce.ts <graph.json written by evaluateOnce.ts> [no-promise-stacks]. Prints one JSON line.
import * as vultr from "@ediri/vultr";
import * as alicloud from "@pulumi/alicloud";
import * as command from "@pulumi/command";
import * as kubernetes from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { readFileSync } from "node:fs";
import { RecordingMocks } from "../stacks/plan/recordingMocks";
import { applyDiagnosticVariant } from "./diagnosticVariant";

interface RecordedResource {
    readonly name: string;
    readonly type: string;
    /** The parent's place in the recorded list (parents are registered before their children), or -1. */
    readonly parent: number;
    readonly inputs: string;
}

type Construct = (name: string, inputs: never, opts: pulumi.CustomResourceOptions) => pulumi.Resource;

/** The SDK classes of every custom resource type the program registers, so each has its full set of output properties. */
const sdkClasses: Record<string, Construct> = {
    "command:remote:Command": (name, inputs, opts) => new command.remote.Command(name, inputs, opts),
    "command:local:Command": (name, inputs, opts) => new command.local.Command(name, inputs, opts),
    "vultr:index/instance:Instance": (name, inputs, opts) => new vultr.Instance(name, inputs, opts),
    "vultr:index/firewallGroup:FirewallGroup": (name, inputs, opts) => new vultr.FirewallGroup(name, inputs, opts),
    "vultr:index/firewallRule:FirewallRule": (name, inputs, opts) => new vultr.FirewallRule(name, inputs, opts),
    "vultr:index/sSHKey:SSHKey": (name, inputs, opts) => new vultr.SSHKey(name, inputs, opts),
    "alicloud:simpleapplicationserver/instance:Instance": (name, inputs, opts) => new alicloud.simpleapplicationserver.Instance(name, inputs, opts),
    "alicloud:simpleapplicationserver/firewallRule:FirewallRule": (name, inputs, opts) => new alicloud.simpleapplicationserver.FirewallRule(name, inputs, opts),
    "pulumi:providers:alicloud": (name, inputs, opts) => new alicloud.Provider(name, inputs, opts),
    "pulumi:providers:kubernetes": (name, inputs, opts) => new kubernetes.Provider(name, inputs, opts),
    "kubernetes:core/v1:NodePatch": (name, inputs, opts) => new kubernetes.core.v1.NodePatch(name, inputs, opts),
    "tls:index/privateKey:PrivateKey": (name, inputs, opts) => new tls.PrivateKey(name, inputs, opts),
    "random:index/randomPassword:RandomPassword": (name, inputs, opts) => new random.RandomPassword(name, inputs, opts),
};

function register(resource: RecordedResource, parent: pulumi.Resource | undefined): pulumi.Resource {
    const inputs = JSON.parse(resource.inputs) as Record<string, unknown>;
    const construct = sdkClasses[resource.type];
    if (construct) return construct(resource.name, inputs as never, { parent });
    if (resource.type.startsWith("k3s-multicloud:")) return new pulumi.ComponentResource(resource.type, resource.name, {}, { parent });
    // A generic resource would have only its inputs as properties and understate the SDK's cost without saying so.
    throw new Error(`sdkFloorOnce: no SDK class for ${resource.type}; add it to sdkClasses`);
}

async function main(): Promise<void> {
    applyDiagnosticVariant(process.argv[3]);
    const graph = (JSON.parse(readFileSync(process.argv[2], "utf8")) as { graph: RecordedResource[] }).graph;
    // The same recording mocks as the program's evaluation, so both hold the same record of what was registered.
    const recorder = await RecordingMocks.install({
        preview: false,
        stack: "bench",
        newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
        call: () => ({}),
    });
    const loadedRssMiB = process.memoryUsage().rss / 2 ** 20;
    const started = process.hrtime.bigint();
    const made: pulumi.Resource[] = [];
    for (const resource of graph) made.push(register(resource, made[resource.parent]));
    const registered = made.map((resource) => new Promise((done) => resource.urn.apply(done)));
    await Promise.all(registered);
    await recorder.settle();
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(JSON.stringify({ resources: graph.length, elapsedMs, peakRssMiB, loadedRssMiB }) + "\n");
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
