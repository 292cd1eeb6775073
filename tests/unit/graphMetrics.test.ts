import { strict as assert } from "node:assert";
import { GraphNode, REMOTE_COMMAND, changedResources, criticalPath, median, otherSchedulers, sshSessionsFor } from "../../bench/graphMetrics";

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

    it("counts only remote commands along the longest dependency chain", () => {
        assert.deepEqual(criticalPath(graph), { length: 4, chain: ["c-s-prepare", "c-s-install", "c-a-install", "c-a-metadata-restart"] });
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

    it("counts the SSH sessions of changed steps: agents' upgrades drain and uncordon through the server", () => {
        assert.equal(
            sshSessionsFor([
                node("c-a-install"),
                node("c-a-upgrade", [], "command:local:Command", '{"environment":{"value":{"K3SMC_DRAIN_COMMAND":"x"}}}'),
                node("c-s-upgrade", [], "command:local:Command", '{"environment":{"value":{}}}'),
                node("c-a-removal", [], "command:local:Command"),
                node("c-a-metadata-patch", [], "kubernetes:core/v1:NodePatch"),
            ]),
            1 + 3 + 1,
        );
    });

    it("takes the median", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 2, 3]), 2.5);
    });
});
