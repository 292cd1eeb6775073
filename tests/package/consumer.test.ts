import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const versionOf = (name: string) => (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;

/**
 * The package as a consumer gets it: `npm pack`, installed from the tarball into an empty project, then loaded by
 * plain Node (no TypeScript loader for the library), type-checked by a strict TypeScript consumer, and exercised by
 * a consumer's mocha test with the ordinary mocks the Pulumi docs teach.
 */
/**
 * Type-checks `files` in `dir` as a consumer's strict TypeScript project would (the module resolution given, node16 by
 * default), with the repository's TypeScript; returns tsc's exit status and what it printed.
 */
function strictConsumerTsc(dir: string, config: string, files: readonly string[], module = "node16", moduleResolution = "node16"): { status: number | null; output: string } {
    writeFileSync(join(dir, config), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module, moduleResolution, target: "ES2022", types: [] }, files }));
    const run = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", config], { cwd: dir, encoding: "utf8" });
    return { status: run.status, output: run.stdout + run.stderr };
}

describe("the packed package in a consumer project", function () {
    this.timeout(600_000);
    let dir: string;
    before(() => {
        dir = mkdtempSync(join(tmpdir(), "k3smc-consumer-"));
        execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
        const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
        writeFileSync(
            join(dir, "package.json"),
            JSON.stringify({
                name: "consumer",
                private: true,
                dependencies: {
                    "k3s-multicloud": `file:./${tarball}`,
                    "@pulumi/pulumi": versionOf("@pulumi/pulumi"),
                    "@pulumi/kubernetes": versionOf("@pulumi/kubernetes"),
                },
            }),
        );
        execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("ships compiled JavaScript, declarations and the host toolkit, and nothing of the tests", () => {
        const listing = execFileSync("tar", ["-tzf", readdirSync(dir).find((f) => f.endsWith(".tgz"))!], { cwd: dir, encoding: "utf8" }).split("\n");
        for (const file of [
            "package/dist/components/index.js",
            "package/dist/components/index.d.ts",
            "package/dist/components/multicloud/clusterSpec.schema.json",
            "package/dist/stacks/api.js",
            "package/dist/components/toolkit/k3smc.payload",
            "package/dist/components/toolkit/relay.sh",
            "package/dist/components/toolkit/host/verbs/install.sh",
        ]) {
            assert.ok(listing.includes(file), `${file} is missing from the package`);
        }
        assert.deepEqual(listing.filter((f) => f.startsWith("package/tests/") || f.endsWith(".test.ts") || f.startsWith("package/components/")), []);
    });

    it("loads in plain Node and exports the components and the stack entry points", () => {
        const script = [
            "const lib = require('k3s-multicloud');",
            "const stack = require('k3s-multicloud/stack');",
            "console.log(['AliyunLightweightServer', 'VultrServer', 'ExistingServer', 'K3sServer', 'K3sAgent', 'K3sCluster', 'NodeAnnotations', 'MulticloudCluster'].map((n) => n + ':' + typeof lib[n]).join(' '));",
            "console.log(['deployStack', 'parseStackConfig', 'readRawConfig'].map((n) => n + ':' + typeof stack[n]).join(' '));",
        ].join("\n");
        const run = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8" });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(
            run.stdout,
            "AliyunLightweightServer:function VultrServer:function ExistingServer:function K3sServer:function K3sAgent:function K3sCluster:function NodeAnnotations:function MulticloudCluster:function\n" +
                "deployStack:function parseStackConfig:function readRawConfig:function\n",
        );
    });

    it("type-checks a strict TypeScript consumer against the shipped declarations", () => {
        writeFileSync(
            join(dir, "index.ts"),
            [
                'import * as pulumi from "@pulumi/pulumi";',
                'import { ExistingServer, K3sCluster, VultrServer } from "k3s-multicloud";',
                'import { parseStackConfig } from "k3s-multicloud/stack";',
                'const home = new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", privateKey: pulumi.secret("key"), hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Qta2V5" });',
                'const tokyo = new VultrServer("tokyo-1", { region: "nrt", plan: "vc2-1c-2gb", osId: 2284, sshPublicKey: "ssh-ed25519 AAAA x", sshPrivateKey: pulumi.secret("k") });',
                'const cluster = new K3sCluster("dev", { k3sVersion: "v1.33.6+k3s1", servers: [home.host], agents: [tokyo.host] });',
                "export const kubeconfig: pulumi.Output<string> = cluster.kubeconfig;",
                'export const parsed = parseStackConfig({ k3sVersion: "v1.33.6+k3s1", nodes: [] as unknown[] });',
                'import { MulticloudCluster, NodeSpec } from "k3s-multicloud";',
                'const pool: NodeSpec = { name: "tokyo", role: "agent", cloud: "vultr", region: "nrt", plan: "vc2-1c-2gb", osId: 2284, count: 2 };',
                'const spec = new MulticloudCluster("lab", { k3sVersion: "v1.33.6+k3s1", nodes: [pool], sshPublicKey: "ssh-ed25519 AAAA x", secrets: { sshPrivateKey: pulumi.secret("k") } });',
                "export const specKubeconfig: pulumi.Output<string> = spec.kubeconfig;",
                "",
            ].join("\n"),
        );
        // Both resolutions Pulumi TypeScript projects use: node16 (reads `exports`) and the older node10 (`typesVersions`).
        for (const [module, moduleResolution] of [["node16", "node16"], ["commonjs", "node"]]) {
            const run = strictConsumerTsc(dir, "tsconfig.json", ["index.ts"], module, moduleResolution);
            assert.equal(run.status, 0, `${moduleResolution}: ${run.output}`);
        }
    });

    it("type-checks every TypeScript sample in README.md and docs/, and examples/workload, against the shipped package, as a consumer's strict project", () => {
        const files: string[] = [];
        for (const doc of ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]) {
            const blocks = [...readFileSync(join(ROOT, doc), "utf8").matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
            blocks.forEach((code, index) => {
                // Each sample is a module of its own (a sample that continues another declares what it uses).
                const file = `sample-${doc.replace(/[/.]/g, "_")}-${index + 1}.ts`;
                writeFileSync(join(dir, file), /^(import|export) /m.test(code) ? code : `${code}\nexport {};\n`);
                files.push(file);
            });
        }
        assert.ok(files.length >= 8, `only ${files.length} samples found`);
        // examples/workload as a project of its own would have it: importing the package by name.
        mkdirSync(join(dir, "workload"), { recursive: true });
        for (const file of ["index.ts", "whoami.ts"]) {
            writeFileSync(join(dir, "workload", file), readFileSync(join(ROOT, "examples", "workload", file), "utf8"));
            files.push(`workload/${file}`);
        }
        const run = strictConsumerTsc(dir, "tsconfig.samples.json", files);
        assert.equal(run.status, 0, run.output);
    });

    it("the types require what each host needs: a host-key choice and one credential, an OS, a plan and an image", () => {
        const bad: Record<string, string> = {
            "bad-existing.ts": 'new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", privateKey: pulumi.secret("k") });',
            "bad-existing-credential.ts": 'new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", hostKey: "ssh-ed25519 AAAA" });',
            "bad-vultr.ts": 'new VultrServer("tokyo-1", { region: "nrt", plan: "vc2-1c-2gb", sshPublicKey: "ssh-ed25519 AAAA x", sshPrivateKey: pulumi.secret("k") });',
            "bad-swas.ts": 'new AliyunLightweightServer("sh-1", { region: "cn-shanghai", planSize: { core: 2, memory: 2 } });',
        };
        for (const [file, line] of Object.entries(bad)) {
            writeFileSync(join(dir, file), `import * as pulumi from "@pulumi/pulumi";\nimport { AliyunLightweightServer, ExistingServer, VultrServer } from "k3s-multicloud";\n${line}\n`);
        }
        const run = strictConsumerTsc(dir, "tsconfig.bad.json", Object.keys(bad));
        assert.notEqual(run.status, 0);
        const failing = [...run.output.matchAll(/^(bad-[a-z-]+\.ts)\(3,\d+\): error TS2345/gm)].map((m) => m[1]).sort();
        assert.deepEqual(failing, Object.keys(bad).sort(), run.output);
    });

    it("runs the unit-test sample of docs/library.md as written, with plain Node and mocha", () => {
        const sample = /^```js\n([\s\S]*?)^```$/m.exec(readFileSync(join(ROOT, "docs", "library.md"), "utf8"))![1];
        writeFileSync(join(dir, "sample.test.js"), sample);
        const run = spawnSync(process.execPath, [join(ROOT, "node_modules", "mocha", "bin", "mocha.js"), "--timeout", "10000", "sample.test.js"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /1 passing/);
    });

    it("runs a consumer's unit test with ordinary mocks answering {} to every call (plain Node): a SWAS server, a Vultr agent, an existing server and a ConfigMap on cluster.provider settle within seconds", () => {
        writeFileSync(
            join(dir, "cluster.test.js"),
            [
                'const assert = require("node:assert");',
                'const pulumi = require("@pulumi/pulumi");',
                "",
                'describe("my stack", () => {',
                '    it("puts a ConfigMap on the cluster", async () => {',
                "        const types = [];",
                "        await pulumi.runtime.setMocks({",
                "            newResource: (args) => { types.push(args.type); return { id: args.name + \"-id\", state: args.inputs }; },",
                "            call: () => ({}),",
                '        }, "consumer", "test");',
                '        const k8s = require("@pulumi/kubernetes");',
                '        const { AliyunLightweightServer, ExistingServer, K3sCluster, VultrServer } = require("k3s-multicloud");',
                '        const swas = new AliyunLightweightServer("sh-1", { region: "cn-shanghai", planId: "swas.s2.c2m2s40b4t1", imageId: "image-ubuntu-2204" });',
                '        const server = new ExistingServer("home-1", { publicIp: "203.0.113.10", location: "home", privateKey: pulumi.secret("key"), hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Qta2V5" });',
                '        const agent = new VultrServer("tokyo-1", { region: "nrt", plan: "vc2-1c-2gb", osId: 2284, sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Qta2V5 ops@example", sshPrivateKey: pulumi.secret("key") });',
                '        const cluster = new K3sCluster("dev", { k3sVersion: "v1.33.6+k3s1", servers: [server.host], agents: [agent.host, swas.host] });',
                '        const map = new k8s.core.v1.ConfigMap("settings", { data: { a: "b" } }, { provider: cluster.provider });',
                "        const data = await new Promise((resolve) => map.data.apply(resolve));",
                '        assert.deepStrictEqual(data, { a: "b" });',
                '        assert.ok(types.includes("command:remote:Command") && types.includes("vultr:index/instance:Instance"));',
                "    });",
                "});",
                "",
            ].join("\n"),
        );
        // Within seconds: mocha's timeout is 10 s (a look-up that left outputs pending used to hang it until then).
        const run = spawnSync(process.execPath, [join(ROOT, "node_modules", "mocha", "bin", "mocha.js"), "--timeout", "10000", "cluster.test.js"], {
            cwd: dir,
            encoding: "utf8",
            timeout: 120_000,
        });
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /1 passing/);
        assert.doesNotMatch(run.stdout + run.stderr, /Unhandled|unhandled/);
        // The look-up the mocks did not answer is named, with the answer to give.
        assert.match(run.stdout + run.stderr, /SWAS instance lookup returned no instance for sh-1: the test's mocks answered alicloud:simpleapplicationserver\/getInstances:getInstances without a result\. Answer it in your mocks' call\(\)/);
    });
});
