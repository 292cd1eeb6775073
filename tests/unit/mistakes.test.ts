import { strict as assert } from "node:assert";
import { ExistingServer, ExistingServerArgs } from "../../components";
import { parseStackConfig } from "../../stacks/stackConfig";
import { misplacedKeys } from "../../stacks/readConfig";
import { MockCloud } from "../harness/mockCloud";
import { HOST_KEY } from "../harness/fixtures";

/** Plausible mistakes that passed silently before: each is refused or warned, with its exact words. */
describe("mistakes a newcomer makes, caught", () => {
    it("a setting in a namespace that looks like ours is refused, not silently ignored (its value is not shown)", () => {
        const errors = misplacedKeys(["k3s:nodeTaints", "k3s-multicloud:nodes", "alicloud:region", "k3s-multicluod:verifyMesh", "vultr:apiKey"], "k3s-multicloud");
        assert.deepEqual(
            errors.map((e) => e.message),
            [
                'k3s:nodeTaints = "(not read)": is in the namespace k3s, which this program does not read. Write it as k3s-multicloud:nodeTaints (pulumi config set k3s-multicloud:nodeTaints ...).',
                'k3s-multicluod:verifyMesh = "(not read)": is in the namespace k3s-multicluod, which this program does not read. Write it as k3s-multicloud:verifyMesh (pulumi config set k3s-multicloud:verifyMesh ...).',
            ],
        );
    });

    it("an existing server with both a key secret and a password secret is refused", () => {
        const nodes = [{ name: "home-1", role: "server", cloud: "existing", publicIp: "203.0.113.10", location: "lab", privateKeySecret: "homeKey", passwordSecret: "homePassword" }];
        assert.throws(() => parseStackConfig({ k3sVersion: "v1.33.6+k3s1", nodes }), {
            message: 'k3s-multicloud:nodes[0].passwordSecret = "homePassword": is given together with privateKeySecret ("homeKey"): a node logs in with one of them. Keep the one the server accepts and remove the other.',
        });
    });

    it("a pinned hostKey together with insecureIgnoreHostKey is refused", async () => {
        await MockCloud.install();
        assert.throws(
            () => new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", password: "pw", hostKey: HOST_KEY, insecureIgnoreHostKey: true } as unknown as ExistingServerArgs),
            { message: "ExistingServer(home-1).insecureIgnoreHostKey = true: contradicts hostKey, which pins the server's key. Remove insecureIgnoreHostKey: with hostKey set, every session checks the key." },
        );
    });

    it("a private address given as publicIp is warned about: other clouds cannot reach it", async () => {
        const cloud = await MockCloud.install();
        new ExistingServer("home-1", { publicIp: "192.168.1.20", location: "home", password: "pw", hostKey: HOST_KEY });
        await cloud.settle();
        assert.deepEqual(cloud.warnings.filter((w) => w.includes("private address")), [
            "home-1: publicIp 192.168.1.20 is a private address: nodes in other clouds cannot reach it, so WireGuard between them and home-1 will not form. Give the address the internet sees (the router's, with 22/tcp, 51820/udp and 10250/tcp forwarded), and the private one as privateIp.",
        ]);
    });
});
