import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Registration } from "../../stacks/plan/recordingMocks";
import { engineUrns, registerStack } from "../harness/stackRegistrations";

/**
 * The upgrade-safety contract. A URN that an earlier release registered and this one does not (nor aliases) is a
 * delete on the next `pulumi up`: a removal step's delete drains and uninstalls its node, a SWAS host re-created
 * buys a second prepaid server, a Vultr host re-created replaces the node. The golden lists below are what release
 * 0.1.0 registered for the two example stacks (engine URNs, computed from the whole parent chain); every later
 * release must keep each of them registered or aliased.
 */
const RELEASES = ["0.1.0"];
const HOST_TYPES = ["alicloud:simpleapplicationserver/instance:Instance", "vultr:index/instance:Instance"];

function golden(release: string, stack: string) {
    const dir = join(__dirname);
    return {
        urns: readFileSync(join(dir, `urns-${release}-${stack}.txt`), "utf8").split("\n").filter(Boolean),
        hosts: JSON.parse(readFileSync(join(dir, `hosts-${release}-${stack}.json`), "utf8")) as Record<string, Record<string, unknown>>,
    };
}

/**
 * Every URN a registration answers to, computed the engine's way: its own; each alias spec's (a former name, type or
 * parent); and, as the engine does for children, each of those under every URN its parent answers to - so the
 * children of a component that gained a parent keep answering to their former URNs through the component's alias.
 */
function answeredUrns(registrations: readonly Registration[]): Map<string, Registration> {
    const urns = engineUrns(registrations);
    const byMockUrn = new Map(registrations.map((r) => [r.urn, r]));
    const prefix = (r: Registration) => urns.get(r)!.split("::").slice(0, 2).join("::");
    // Per registration: the qualified types (parent chain included) and names it answers to.
    const memo = new Map<Registration, Array<{ type: string; name: string }>>();
    const forms = (r: Registration): Array<{ type: string; name: string }> => {
        const known = memo.get(r);
        if (known) return known;
        const parentTypes = (parentUrn: string | undefined) => {
            const parent = parentUrn ? byMockUrn.get(parentUrn) : undefined;
            return parent ? forms(parent).map((f) => f.type) : [undefined];
        };
        const qualify = (parentType: string | undefined, type: string) => (parentType ? `${parentType}$${type}` : type);
        const result = parentTypes(r.parent).map((p) => ({ type: qualify(p, r.type), name: r.name }));
        for (const alias of r.aliases) {
            if (alias.urn) continue;
            const parents = alias.parentUrn === undefined ? parentTypes(r.parent) : parentTypes(alias.parentUrn || undefined);
            result.push(...parents.map((p) => ({ type: qualify(p, alias.type ?? r.type), name: alias.name ?? r.name })));
        }
        memo.set(r, result);
        return result;
    };
    const answered = new Map<string, Registration>();
    for (const r of registrations) {
        for (const f of forms(r)) answered.set(`${prefix(r)}::${f.type}::${f.name}`, r);
        for (const alias of r.aliases) if (alias.urn) answered.set(alias.urn, r);
    }
    return answered;
}

for (const stack of ["dev", "prod"]) {
    describe(`upgrade safety: stacks/Pulumi.${stack}.yaml`, () => {
        let registrations: Registration[];
        before(async () => {
            registrations = await registerStack(stack);
        });

        for (const release of RELEASES) {
            it(`still registers (or aliases) every URN that release ${release} created: 0 deletes`, () => {
                const answered = answeredUrns(registrations);
                const missing = golden(release, stack).urns.filter((urn) => !answered.has(urn));
                assert.deepEqual(missing, [], "these resources would be deleted (and their delete logic run) by the next `pulumi up`");
            });

            it(`replaces no host that release ${release} created: their inputs are unchanged`, () => {
                const answered = answeredUrns(registrations);
                const hosts = registrations.filter((r) => HOST_TYPES.includes(r.type));
                // An input the host ignores after create (e.g. Vultr user-data, added in 0.2.1) keeps its stored value on
                // a host that exists, so it cannot replace it: compared without those, on both sides. Each old host is
                // compared with the registration that answers to its URN (its own, or through an alias).
                const without = (inputs: Record<string, unknown>, ignored: readonly string[]) => Object.fromEntries(Object.entries(inputs).filter(([key]) => !ignored.includes(key)));
                const old = golden(release, stack).hosts;
                assert.equal(hosts.length, Object.keys(old).length);
                const now = Object.fromEntries(Object.keys(old).map((urn) => [urn, answered.get(urn) ? without(answered.get(urn)!.inputs, answered.get(urn)!.ignoreChanges) : "(not registered)"]));
                const then = Object.fromEntries(Object.entries(old).map(([urn, inputs]) => [urn, without(inputs as Record<string, unknown>, answered.get(urn)?.ignoreChanges ?? [])]));
                assert.deepEqual(now, then);
                // What may differ is only what the engine ignores: the new Vultr user-data.
                assert.deepEqual([...new Set(hosts.flatMap((r) => r.ignoreChanges))].sort(), ["imageId", "planId", "status", "userData"]);
            });
        }

        it("gives no removal or upgrade step a trigger or delete-before-replace: a replace would run the removal's delete", () => {
            const local = registrations.filter((r) => /-(removal|upgrade)$/.test(r.name));
            assert.ok(local.length > 0);
            for (const r of local) {
                assert.equal(r.inputs.triggers, undefined, r.name);
                assert.equal(r.deleteBeforeReplace, false, r.name);
                assert.equal(r.type, "command:local:Command", r.name);
            }
        });
    });
}
