import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import { FakeEngine } from "../harness/fakeEngine";

/* eslint-disable @typescript-eslint/no-require-imports */
const provgrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provpb = require("@pulumi/pulumi/proto/provider_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = resolve(__dirname, "..", "..");
const PLUGIN = join(ROOT, "plugin");
const RUN_PLUGIN = join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-plugin");

// The wire forms of Pulumi's property values (sdk/nodejs/runtime/rpc.ts): a secret, an output value, an unknown.
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Boots plugin/ the way the Pulumi CLI does: Node's plugin runner on the directory, the engine's address as argument. */
function bootPlugin(dir: string, engineAddress: string): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
    const child = spawn(process.execPath, [RUN_PLUGIN, dir, engineAddress], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    return new Promise((resolvePort, reject) => {
        const timer = setTimeout(() => reject(new Error(`plugin printed no port in 180 s; stderr:\n${stderr}`)), 180_000);
        child.stdout!.on("data", (chunk) => {
            stdout += chunk;
            const line = stdout.split("\n").find((l) => /^\d+$/.test(l.trim()));
            if (line) {
                clearTimeout(timer);
                resolvePort({ child, port: Number(line.trim()), stderr: () => stderr });
            }
        });
        child.on("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`plugin exited (${code}) before printing its port; stderr:\n${stderr}`));
        });
    });
}

function unary<T>(client: any, method: string, request: unknown): Promise<T> {
    return new Promise((resolveCall, reject) => client[method](request, (error: Error | null, response: T) => (error ? reject(error) : resolveCall(response))));
}

describe("the component package (plugin/), booted the way Pulumi boots it", function () {
    this.timeout(300_000);
    let engine: FakeEngine;
    let plugin: { child: ChildProcess; port: number; stderr: () => string };
    let client: any;

    before(async () => {
        engine = new FakeEngine("dev", "consumer");
        await engine.start();
        plugin = await bootPlugin(PLUGIN, engine.address);
        client = new provgrpc.ResourceProviderClient(`127.0.0.1:${plugin.port}`, grpc.credentials.createInsecure());
    });

    after(async () => {
        client?.close();
        if (plugin?.child.exitCode === null) {
            plugin.child.kill("SIGTERM");
            await new Promise((done) => plugin.child.once("exit", done));
        }
        await engine?.stop();
    });

    it("GetSchema: the discovered components are exactly the data-only MulticloudCluster, its schema as pinned", async () => {
        const response = await unary<any>(client, "getSchema", new provpb.GetSchemaRequest());
        const schema = JSON.parse(response.getSchema());
        assert.deepEqual(Object.keys(schema.resources), ["k3s-multicloud:index:MulticloudCluster"]);
        const cluster = schema.resources["k3s-multicloud:index:MulticloudCluster"];
        assert.deepEqual(cluster.requiredInputs, ["k3sVersion", "nodes"]);
        assert.equal(cluster.inputProperties.nodes.items.$ref, "#/types/k3s-multicloud:index:NodeSpec");
        assert.deepEqual(schema.types["k3s-multicloud:index:NodeCloud"].enum.map((e: { value: string }) => e.value), ["aliyun", "vultr", "existing"]);
        // The whole schema, as `npm run schema` prints it.
        assert.deepEqual(schema, JSON.parse(readFileSync(join(ROOT, "tests", "golden", "component-schema.json"), "utf8")));
    });

    /** The inputs a consumer's program sends: two existing servers, the agent's address given by `agentAddress`. */
    function clusterInputs(agentAddress: unknown) {
        return {
            k3sVersion: "v1.33.6+k3s1",
            nodes: [
                { name: "lab-1", role: "server", cloud: "existing", publicIp: "203.0.113.10", location: "home-lab", insecureIgnoreHostKey: true },
                { name: "lab-2", role: "agent", cloud: "existing", publicIp: agentAddress, behindNat: false, location: "home-lab", insecureIgnoreHostKey: true },
            ],
            secrets: { sshPrivateKey: { [SIG]: OUTPUT_SIG, value: "-----BEGIN OPENSSH PRIVATE KEY-----\nlab\n-----END OPENSSH PRIVATE KEY-----\n", secret: true } },
            verifyMesh: false,
        };
    }

    function construct(name: string, dryRun: boolean, inputs: object, dependencies: Record<string, string[]>) {
        const request = new provpb.ConstructRequest()
            .setProject("consumer")
            .setStack("dev")
            .setOrganization("organization")
            .setDryrun(dryRun)
            .setParallel(1)
            .setMonitorendpoint(engine.address)
            .setType("k3s-multicloud:index:MulticloudCluster")
            .setName(name)
            .setParent(engine.rootUrn)
            .setAcceptsOutputValues(true)
            .setInputs(structproto.Struct.fromJavaScript(inputs as Record<string, structproto.JavaScriptValue>));
        for (const [key, urns] of Object.entries(dependencies)) {
            request.getInputdependenciesMap().set(key, new provpb.ConstructRequest.PropertyDependencies().setUrnsList(urns));
        }
        return unary<any>(client, "construct", request);
    }

    const source = "urn:pulumi:dev::consumer::consumer:index:Address::lab-2-address";
    const steps = (cluster: string, node: string) => engine.registrations.filter((r) => r.type === "command:remote:Command" && r.name.startsWith(`${cluster}-${node}-`));

    it("Construct in a preview: a secret, an unknown and a dependency go in; the cluster registers under the engine", async () => {
        // The agent's address comes from another resource of the consumer's program: unknown in a preview.
        const inputs = clusterInputs({ [SIG]: OUTPUT_SIG, dependencies: [source] });
        const response = await construct("lab", true, inputs, { nodes: [source] });

        assert.equal(response.getUrn(), "urn:pulumi:dev::consumer::k3s-multicloud:index:MulticloudCluster::lab");
        const component = engine.registrations.filter((r) => r.type === "k3s-multicloud:index:MulticloudCluster" && r.name === "lab");
        assert.deepEqual(component.map((r) => r.parent), [engine.rootUrn]);
        const children = engine.registrations.filter((r) => r.parent === response.getUrn()).map((r) => `${r.type} ${r.name}`);
        assert.deepEqual(children.sort(), ["k3s-multicloud:hosts:ExistingServer lab-1", "k3s-multicloud:hosts:ExistingServer lab-2", "k3s-multicloud:k3s:K3sCluster lab"]);

        // The server's SSH key stayed secret on its way into every step's connection; the agent's unknown address made
        // each of its steps wait for it and depend on the resource that provides it.
        assert.ok(steps("lab", "lab-1").length > 0 && steps("lab", "lab-2").length > 0, engine.registrations.map((r) => r.name).join(", "));
        for (const step of steps("lab", "lab-1")) {
            const connection = step.inputs.connection as { [SIG]: string; value: { host: string; privateKey: string } };
            assert.equal(connection[SIG], SECRET_SIG, `${step.name}: its connection (with the private key) is secret`);
            assert.deepEqual([connection.value.host, connection.value.privateKey], ["203.0.113.10", inputs.secrets.sshPrivateKey.value], step.name);
        }
        for (const step of steps("lab", "lab-2")) {
            assert.equal(step.inputs.connection, UNKNOWN, `${step.name}: its connection waits for the address`);
            assert.deepEqual(step.propertyDependencies.connection, [source], `${step.name} depends on ${source}`);
        }

        const state = response.getState().toJavaScript() as Record<string, unknown>;
        assert.deepEqual(state, { apiEndpoint: "https://203.0.113.10:6443", k3sVersion: "v1.33.6+k3s1", kubeconfig: UNKNOWN, meshStatus: [], nodes: UNKNOWN });
        // The component's warnings reach the engine (what `pulumi preview` prints), and nothing was logged as an error.
        const warnings = engine.logs.filter((l) => l.severity === 2).map((l) => l.message);
        assert.ok(warnings.some((m) => m.startsWith("lab-1: SSH to this existing server does not check its host key (insecureIgnoreHostKey)")), warnings.join("\n"));
        assert.deepEqual(engine.logs.filter((l) => l.severity >= 3).map((l) => l.message), [], "no error was logged");
    });

    it("Construct in an update: every output comes back, the kubeconfig still secret", async () => {
        const inputs = clusterInputs({ [SIG]: OUTPUT_SIG, value: "198.51.100.20", dependencies: [source] });
        const response = await construct("home", false, inputs, { nodes: [source] });
        const state = response.getState().toJavaScript() as Record<string, any>;
        assert.equal(state.kubeconfig[SIG], SECRET_SIG, "the kubeconfig comes back secret");
        assert.equal(state.apiEndpoint, "https://203.0.113.10:6443");
        assert.deepEqual(state.nodes, [
            { name: "lab-1", cloud: "existing", location: "home-lab", role: "server", publicIp: "203.0.113.10", privateIp: "203.0.113.10", behindNat: false, sshUser: "root", sshPort: 22 },
            { name: "lab-2", cloud: "existing", location: "home-lab", role: "agent", publicIp: "198.51.100.20", privateIp: "198.51.100.20", behindNat: false, sshUser: "root", sshPort: 22 },
        ]);
        for (const step of steps("home", "lab-2")) assert.deepEqual(step.propertyDependencies.connection, [source], step.name);
    });
});

describe("the component package's manifest", () => {
    it("installs what the library installs, at the same versions, plus the SDK pin and the TypeScript the analyzer needs", () => {
        const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
        const plugin = JSON.parse(readFileSync(join(PLUGIN, "package.json"), "utf8"));
        assert.equal(plugin.name, "k3s-multicloud", "the package name is the schema's package name");
        assert.equal(plugin.version, root.version);
        assert.deepEqual(plugin.dependencies, {
            ...root.dependencies,
            "@pulumi/pulumi": root.devDependencies["@pulumi/pulumi"],
            "@types/node": root.devDependencies["@types/node"],
            typescript: root.devDependencies.typescript,
        });
        assert.equal(readFileSync(join(PLUGIN, "PulumiPlugin.yaml"), "utf8").match(/^runtime: (\S+)$/m)?.[1], "nodejs");
    });
});

describe("the component package installed the way `pulumi package add` installs it: dependencies in plugin/node_modules only", function () {
    this.timeout(300_000);

    for (const shadowed of [false, true]) {
        it(shadowed
            ? "uses its own packages although an ancestor directory's node_modules holds another ajv (as ~/node_modules may)"
            : "boots and answers GetSchema without the repository's own node_modules", async () => {
            // With `shadowed`: the checkout sits below a directory whose node_modules has an ajv that refuses to load.
            const outer = mkdtempSync(join(tmpdir(), "k3smc-plugin-"));
            const checkout = shadowed ? join(outer, "checkout") : outer;
            if (shadowed) {
                mkdirSync(join(outer, "node_modules", "ajv"), { recursive: true });
                writeFileSync(join(outer, "node_modules", "ajv", "package.json"), '{ "name": "ajv", "version": "0.0.1", "main": "index.js" }');
                writeFileSync(join(outer, "node_modules", "ajv", "index.js"), 'throw new Error("the ajv of an ancestor node_modules was loaded");');
            }
            const engine = new FakeEngine("dev", "consumer");
            let plugin: { child: ChildProcess; port: number } | undefined;
            try {
                // A checkout of the repository as Pulumi downloads it, without node_modules at its root; the plugin's own
                // install stands in by a link to this project's packages.
                cpSync(join(ROOT, "components"), join(checkout, "components"), { recursive: true });
                cpSync(PLUGIN, join(checkout, "plugin"), { recursive: true });
                symlinkSync(join(ROOT, "node_modules"), join(checkout, "plugin", "node_modules"));
                await engine.start();
                plugin = await bootPlugin(join(checkout, "plugin"), engine.address);
                const client = new provgrpc.ResourceProviderClient(`127.0.0.1:${plugin.port}`, grpc.credentials.createInsecure());
                const schema = JSON.parse((await unary<any>(client, "getSchema", new provpb.GetSchemaRequest())).getSchema());
                client.close();
                assert.deepEqual(Object.keys(schema.resources), ["k3s-multicloud:index:MulticloudCluster"]);
            } finally {
                if (plugin && plugin.child.exitCode === null) {
                    plugin.child.kill("SIGTERM");
                    await new Promise((done) => plugin!.child.once("exit", done));
                }
                await engine.stop();
                rmSync(outer, { recursive: true, force: true });
            }
        });
    }
});
