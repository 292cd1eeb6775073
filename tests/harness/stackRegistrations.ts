import * as pulumi from "@pulumi/pulumi";
import { deployStack } from "../../stacks/program";
import { loadStackConfigFile, placeholderCloud } from "../../stacks/plan/evaluate";
import { readRawConfig } from "../../stacks/readConfig";
import { parseStackConfig } from "../../stacks/stackConfig";
import { Registration, RecordingMocks, resolve } from "../../stacks/plan/recordingMocks";

/**
 * Evaluates the real stack program for stacks/Pulumi.<stack>.yaml under the plan's placeholder cloud and returns
 * every registration: what the engine would be asked to create on `pulumi up`.
 */
export async function registerStack(stack: string): Promise<Registration[]> {
    const cloud = placeholderCloud();
    const recorder = await RecordingMocks.install({ preview: false, stack, newResource: cloud.newResource, call: cloud.call });
    pulumi.runtime.setAllConfig(loadStackConfigFile(stack));
    const parsed = parseStackConfig(readRawConfig(new pulumi.Config("k3s-multicloud")));
    const deployed = deployStack(stack, parsed, () => pulumi.secret("[secret]"));
    await resolve(deployed.cluster.nodes);
    await recorder.settle();
    return recorder.registrations;
}

/**
 * The URN the real engine gives each registration. The mock monitor qualifies a type with its direct parent's type
 * only; the engine qualifies it with the parent's whole chain (`K3sCluster$K3sAgent$command:remote:Command`), so a
 * golden list must be computed the engine's way.
 */
export function engineUrns(registrations: readonly Registration[], project = "k3s-multicloud"): Map<Registration, string> {
    const byMockUrn = new Map(registrations.map((r) => [r.urn, r]));
    const qualified = new Map<Registration, string>();
    const qualify = (r: Registration): string => {
        const known = qualified.get(r);
        if (known !== undefined) return known;
        const parent = r.parent ? byMockUrn.get(r.parent) : undefined;
        const type = parent ? `${qualify(parent)}$${r.type}` : r.type;
        qualified.set(r, type);
        return type;
    };
    const stack = pulumi.getStack();
    return new Map(registrations.map((r) => [r, `urn:pulumi:${stack}::${project}::${qualify(r)}::${r.name}`]));
}
