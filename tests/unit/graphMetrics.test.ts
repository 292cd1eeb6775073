import { strict as assert } from "node:assert";
import { GraphNode, REMOTE_COMMAND, changedResources, criticalPath, inputKibPerNode, median, otherSchedulers, sshSessionsFor } from "../../bench/graphMetrics";

const node = (name: string, dependsOn: string[] = [], type = REMOTE_COMMAND, inputs = "{}"): GraphNode => ({ name, type, dependsOn, inputs });

describe("benchmark graph metrics", () => {
    const graph = [
        node("vm-s", [], "vultr:index/instance:Instance"),
        node("c-s-prepare", ["vm-s"]),
        node("c-s-install", ["c-s-prepare"]),
        node("c-a-prepare", []),
        node("c-b-prepare", []),
        node("c-a-install", ["c-a-prepare", "c-s-install"]),
        node("c-b-install", ["c-b-prepare", "c-s-install"]),
        node("c-s-kubeconfig", ["c-s-install"]),
        node("c-k8s", ["c-s-kubeconfig"], "pulumi:providers:kubernetes"),
        node("c-a-metadata-patch", ["c-a-install", "c-k8s"], "kubernetes:core/v1:NodePatch"),
        node("c-a-metadata-restart", ["c-a-metadata-patch"]),
    ];

    it("counts only resources that open SSH on create along the longest dependency chain", () => {
        assert.deepEqual(criticalPath(graph), { length: 4, chain: ["c-s-prepare", "c-s-install", "c-a-install", "c-a-metadata-restart"] });
        // A local step in the chain (the upgrade step, `true` on create) adds nothing; a copy over SSH would.
        const withLocal = [...graph, node("c-a-upgrade", ["c-a-install"], "command:local:Command"), node("c-a-prune", ["c-a-upgrade"])];
        assert.equal(criticalPath(withLocal).length, 4);
        const withCopy = [...graph, node("c-a-copy", ["c-a-metadata-restart"], "command:remote:CopyToRemote")];
        assert.equal(criticalPath(withCopy).length, 5);
    });

    it("schedules the same commands sequentially and with five forks", () => {
        assert.deepEqual(otherSchedulers(graph, ["s"]), { sequential: 8, fiveForks: 5 });
    });

    it("finds resources whose inputs changed or that disappeared", () => {
        const after = [node("x", [], REMOTE_COMMAND, '{"a":2}'), node("y")];
        const before = [node("x", [], REMOTE_COMMAND, '{"a":1}'), node("y"), node("z")];
        assert.deepEqual(changedResources(before, after).map((n) => n.name), ["x", "z"]);
        assert.deepEqual(changedResources(before, before), []);
    });

    it("counts the SSH sessions of changed steps: an upgrade drains only when its fingerprint changed", () => {
        const upgrade = (name: string, fingerprint: string, drain: boolean) =>
            node(name, [], "command:local:Command", JSON.stringify({ environment: { K3SMC_FINGERPRINT: fingerprint, ...(drain ? { K3SMC_DRAIN_COMMAND: "x" } : {}) } }));
        const before = [upgrade("c-a-upgrade", "a1", true), upgrade("c-s-upgrade", "c1", false), upgrade("c-b-upgrade", "b1", true)];
        assert.equal(
            sshSessionsFor(
                [
                    node("c-a-install"),
                    upgrade("c-a-upgrade", "a2", true), // fingerprint, drain, apply, uncordon
                    upgrade("c-s-upgrade", "c2", false), // fingerprint, apply
                    upgrade("c-b-upgrade", "b1", true), // new credentials only: fingerprint, then nothing
                    node("c-a-removal", [], "command:local:Command"),
                    node("c-a-metadata-patch", [], "kubernetes:core/v1:NodePatch"),
                ],
                before,
            ),
            1 + 4 + 2 + 1,
        );
    });

    it("measures stored inputs per node in KiB", () => {
        assert.equal(inputKibPerNode([node("a", [], REMOTE_COMMAND, "x".repeat(1024)), node("b", [], REMOTE_COMMAND, "y".repeat(2048))], 3), 1);
    });

    it("takes the median", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 2, 3]), 2.5);
    });
});
