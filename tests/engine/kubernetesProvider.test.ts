import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import { locateEngine } from "../../lab/engine/engine";
import { FakeEngine } from "../harness/fakeEngine";
import { K3S_YAML } from "../harness/fixtures";

/* eslint-disable @typescript-eslint/no-require-imports */
const provgrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provpb = require("@pulumi/pulumi/proto/provider_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * What the real `kubernetes` provider (built by engine/build.sh from pulumi-kubernetes' module at v4.25.0, installed as
 * the 4.34.2 our npm package asks for) decides when the cluster's kubeconfig changes: the question behind rotating
 * the admin credential (adminCredentialGeneration). In the preview of a rotation the kubeconfig is unknown (its step
 * runs again); the provider's DiffConfig then plans a replacement - of itself and of everything deployed through it -
 * unless `clusterIdentifier` is set and unchanged, which ours always is (components/k3s/kubernetesProvider.ts).
 */
const located = locateEngine();
const required = process.env.K3SMC_REQUIRE_ENGINE === "1";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const URN = "urn:pulumi:dev::k3s-multicloud::pulumi:providers:kubernetes::dev-k8s";

describe("the real kubernetes provider's DiffConfig on a rotated admin credential", function () {
    this.timeout(120_000);
    let engine: FakeEngine;
    let provider: ChildProcess | undefined;
    let client: any;

    before(async function () {
        if ("missing" in located) {
            if (required) throw new Error(`K3SMC_REQUIRE_ENGINE is set but the engine is not built: ${located.missing}`);
            console.log(`      skipped: no engine built (${located.missing})`);
            this.skip();
        }
        engine = new FakeEngine("dev", "k3s-multicloud");
        await engine.start();
        const child = spawn(join(located.dir, "providers", "pulumi-resource-kubernetes"), [engine.address], { stdio: ["ignore", "pipe", "pipe"] });
        provider = child;
        const port = await new Promise<number>((resolvePort, reject) => {
            let out = "";
            const timer = setTimeout(() => reject(new Error("the provider printed no port in 60 s")), 60_000);
            child.stdout!.on("data", (chunk) => {
                out += chunk;
                const line = out.split("\n").find((l) => /^\d+$/.test(l.trim()));
                if (line) {
                    clearTimeout(timer);
                    resolvePort(Number(line.trim()));
                }
            });
            child.on("exit", (code) => reject(new Error(`the provider exited (${code})`)));
        });
        client = new provgrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(async () => {
        client?.close();
        if (provider && provider.exitCode === null) {
            provider.kill("SIGTERM");
            await new Promise((done) => provider!.once("exit", done));
        }
        await engine?.stop();
    });

    function diffConfig(olds: Record<string, string>, news: Record<string, string>): Promise<{ changes: number; replaces: string[] }> {
        const request = new provpb.DiffRequest()
            .setUrn(URN)
            .setOlds(structproto.Struct.fromJavaScript(olds))
            .setNews(structproto.Struct.fromJavaScript(news));
        return new Promise((resolveDiff, reject) =>
            client.diffConfig(request, (error: Error | null, response: any) =>
                error ? reject(error) : resolveDiff({ changes: response.getChanges(), replaces: response.getReplacesList() }),
            ),
        );
    }

    const rotated = K3S_YAML.replace(/client-key-data: \S+/, "client-key-data: bm90LXRoZS1zYW1lLWtleQ==");

    it("with our fixed clusterIdentifier, an unknown kubeconfig (the preview of a rotation) is an update, not a replacement", async () => {
        const diff = await diffConfig(
            { kubeconfig: K3S_YAML, clusterIdentifier: "k3s-multicloud-dev", deleteUnreachable: "true" },
            { kubeconfig: UNKNOWN, clusterIdentifier: "k3s-multicloud-dev", deleteUnreachable: "true" },
        );
        assert.deepEqual(diff.replaces, []);
        // And once known, a kubeconfig that differs only in its credential.
        const known = await diffConfig({ kubeconfig: K3S_YAML, clusterIdentifier: "k3s-multicloud-dev" }, { kubeconfig: rotated, clusterIdentifier: "k3s-multicloud-dev" });
        assert.deepEqual(known.replaces, []);
    });

    it("shows why the identifier is there: without it the same unknown kubeconfig plans a replacement", async () => {
        const diff = await diffConfig({ kubeconfig: K3S_YAML }, { kubeconfig: UNKNOWN });
        assert.deepEqual(diff.replaces, ["kubeconfig"]);
    });
});
