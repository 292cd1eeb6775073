import { strict as assert } from "node:assert";
import { Evaluation, evaluate, withEditedHostScripts } from "../../bench/evaluateProcess";
import { changedResources } from "../../bench/graphMetrics";

/**
 * A library upgrade that only changes the host toolkit must not make `pulumi up` drain, restart or reinstall any
 * node: only each node's prepare step (which delivers the toolkit) may change. Evaluated for real in a temporary copy
 * of the program with every host file edited.
 */
describe("a library upgrade that edits the host scripts (3-node stack, evaluated in a temporary copy)", function () {
    this.timeout(120_000);
    let base: Evaluation;
    before(() => {
        base = evaluate(3);
    });
    const names = (edit: "comment" | "code") =>
        changedResources(base.graph, withEditedHostScripts(edit, (root) => evaluate(3, undefined, root)).graph).map((n) => n.name).sort();

    it("a line of code in every host file changes exactly the prepare step of each node", () => {
        assert.deepEqual(names("code"), ["bench-home-2-prepare", "bench-server-0-prepare", "bench-vultr-1-prepare"]);
    });

    it("a comment changes nothing at all (comments do not travel to hosts)", () => {
        assert.deepEqual(names("comment"), []);
    });
});
