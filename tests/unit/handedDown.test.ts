import { strict as assert } from "node:assert";
import { checkedAbove, checkedAndHandedDown } from "../../components/validation/handedDown";

describe("arguments handed down checked (components/validation/handedDown.ts)", () => {
    it("marks the very object the outer component built, not a copy or an equal object", () => {
        const args = checkedAndHandedDown({ k3sVersion: "v1.33.6+k3s1" });
        assert.equal(checkedAbove(args), true);
        assert.equal(checkedAbove({ ...args }), false, "a copy made elsewhere is checked again");
        assert.equal(checkedAbove({ k3sVersion: "v1.33.6+k3s1" }), false);
    });
});
