import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { deployStack } from "../../stacks/program";
import { parseStackConfig } from "../../stacks/stackConfig";
import { MockCloud } from "../harness/mockCloud";
import { HOST_KEY, SSH_PUBLIC_KEY } from "../harness/fixtures";

/** The stack program's own choices, under mocks. */
describe("stack program (mocks)", () => {
    const stack = (extra: Record<string, unknown> = {}) =>
        parseStackConfig({
            k3sVersion: "v1.33.6+k3s1",
            sshPublicKey: SSH_PUBLIC_KEY,
            nodes: [
                { name: "s-1", role: "server", cloud: "vultr", region: "nrt", plan: "vc2-1c-2gb", osId: 2284 },
                { name: "a-1", role: "agent", cloud: "vultr", region: "nrt", plan: "vc2-1c-2gb", osId: 2284 },
                { name: "h-1", role: "agent", cloud: "existing", publicIp: "203.0.113.10", location: "home", hostKey: HOST_KEY },
            ],
            ...extra,
        });

    it("protects the servers' machines, so a plan that would replace or delete one is refused", async () => {
        const cloud = await MockCloud.install();
        deployStack("dev", stack(), () => pulumi.secret("key"));
        await cloud.settle();
        const protect = (name: string) => cloud.named(name).protect;
        assert.deepEqual([protect("s-1"), protect("s-1-instance"), protect("s-1-firewall")], [true, true, true]);
        assert.deepEqual([protect("a-1-instance"), protect("h-1")], [undefined, undefined], "agents can be replaced: they rejoin");
    });

    it("lifts the protection with protectServers: false (e.g. to destroy the cluster)", async () => {
        const cloud = await MockCloud.install();
        deployStack("dev", stack({ protectServers: false }), () => pulumi.secret("key"));
        await cloud.settle();
        assert.equal(cloud.named("s-1-instance").protect, undefined);
    });
});
