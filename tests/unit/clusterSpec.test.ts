import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import Ajv from "ajv";
import { parse } from "yaml";
import { ConfigError, ConfigErrors, MulticloudCluster } from "../../components";
import { checkClusterSpec, componentSource } from "../../components/multicloud/validateSpec";
import { parseStackConfig } from "../../stacks/stackConfig";
import { isSecretValue, MockCloud, resolve as resolveOutput, unwrap } from "../harness/mockCloud";
import { TYPES } from "../harness/fixtures";
import { specSchema, specTable } from "../tools/specSchema";
import { CONFIG_DOC, docWithTable, SCHEMA_FILE } from "../tools/writeSpecSchema";

const ROOT = resolve(__dirname, "..", "..");

function editorValidator() {
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
    for (const keyword of ["x-clouds", "x-required-for", "x-input"]) ajv.addKeyword(keyword);
    return ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")));
}

describe("cluster spec: one declaration, its schema, its table", () => {
    it("the committed JSON Schema and the config table in docs/configuration.md are what the declaration generates (npm run spec:schema)", () => {
        const schema = specSchema();
        assert.deepEqual(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")), schema, "run `npm run spec:schema`");
        const doc = readFileSync(CONFIG_DOC, "utf8");
        assert.equal(docWithTable(doc, specTable(schema)), doc, "run `npm run spec:schema`");
        assert.ok(doc.includes("| `nodes[].planSize` (aliyun) | map (AliyunPlanSize) |  | Alibaba lightweight server plan by size. Give this or `planId`. |"));
    });

    it("the stack-file sample in docs/configuration.md validates against the schema and parses (with a version and a key added)", () => {
        const doc = readFileSync(CONFIG_DOC, "utf8");
        const sample = [...doc.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]).find((text) => text.includes("k3s-multicloud:nodes:"));
        assert.ok(sample, "no stack-file sample in docs/configuration.md");
        const given = parse(sample) as Record<string, unknown>;
        const spec = {
            k3sVersion: "v1.33.6+k3s1",
            sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Qta2V5 ops@example",
            ...Object.fromEntries(Object.entries(given).map(([key, value]) => [key.replace(/^k3s-multicloud:/, ""), value])),
        };
        const validate = editorValidator();
        assert.equal(validate(spec), true, JSON.stringify(validate.errors));
        // The pool of three expands: sh-server, tokyo-1, tokyo-2, tokyo-3.
        assert.deepEqual(parseStackConfig(spec).nodes.map((n) => n.name), ["sh-server", "tokyo-1", "tokyo-2", "tokyo-3"]);
    });

    it("editors: every example stack file validates against the schema; a typo, a quoted number and a plain secret do not", () => {
        const validate = editorValidator();
        const stacks = readdirSync(join(ROOT, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
        assert.deepEqual(stacks, ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]);
        for (const file of stacks) {
            const text = readFileSync(join(ROOT, "stacks", file), "utf8");
            assert.ok(text.startsWith("# yaml-language-server: $schema=../components/multicloud/clusterSpec.schema.json\n"), `${file} names its schema`);
            assert.equal(validate(parse(text)), true, `${file}: ${JSON.stringify(validate.errors)}`);
        }
        const file = (config: Record<string, unknown>) => ({ config: { "k3s-multicloud:k3sVersion": "v1.33.6+k3s1", "k3s-multicloud:nodes": [{ name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }], ...config } });
        assert.equal(validate(file({ "k3s-multicloud:homeSshKey": { secure: "v1:abc" }, "vultr:apiKey": { secure: "v1:x" } })), true);
        const problems = (config: Record<string, unknown>) => (validate(file(config)) ? [] : validate.errors!.filter((e) => e.keyword !== "if").map((e) => `${e.instancePath} ${e.message}`));
        assert.deepEqual(problems({ "k3s-multicloud:sshAllowedCidr": ["0.0.0.0/0"] }), ["/config/k3s-multicloud:sshAllowedCidr must be object"]);
        assert.deepEqual(problems({ "k3s-multicloud:homeSshKey": "-----BEGIN OPENSSH PRIVATE KEY-----" }), ["/config/k3s-multicloud:homeSshKey must be object"]);
        assert.deepEqual(problems({ "k3s-multicloud:verifyMesh": "yes" }), ["/config/k3s-multicloud:verifyMesh must be boolean"]);
    });

    it("an Alibaba plan by size in the old spelling is refused with the line to write, and empty values are named", () => {
        assert.throws(
            () => parseStackConfig({ k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "sh-1", role: "server", cloud: "aliyun", region: "cn-shanghai", plan: { core: 2, memory: 2 } }] }),
            { message: "k3s-multicloud:nodes[0].plan = {\"core\":2,\"memory\":2}: an Alibaba plan chosen by size is called planSize since release 0.3.0. Write it as planSize: {core: 2, memory: 2}." },
        );
        assert.throws(() => parseStackConfig({ k3sVersion: "", nodes: [{ name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }] }), {
            message: 'k3s-multicloud:k3sVersion = "": must not be empty. Set it, e.g. k3sVersion: v1.33.6+k3s1.',
        });
        assert.throws(() => parseStackConfig({ k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }], nodeTaints: { a: "x=y:NoSchedule" } }), {
            message: 'k3s-multicloud:nodeTaints.a = "x=y:NoSchedule": must be a list. Write it as a YAML list, e.g. ["203.0.113.0/24"].',
        });
    });

    it("a cluster needs a server; node names are used once, pools included; per-node settings name nodes that exist", () => {
        let address = 0;
        const existing = (name: string, role = "agent") => ({ name, role, cloud: "existing", publicIp: `203.0.113.${++address}`, location: "lab" });
        assert.throws(() => parseStackConfig({ k3sVersion: "v1.33.6+k3s1", nodes: [existing("a")] }), {
            message: 'k3s-multicloud:nodes = [{"name":"a","role":"agent","cloud":"existing","publicIp":"203.0.113.1","location":"lab"}]: has no entry with role: server. Give one entry role: server (the control plane; agents may be in any cloud).',
        });
        assert.throws(
            () =>
                parseStackConfig({
                    k3sVersion: "v1.33.6+k3s1",
                    nodes: [existing("s", "server"), existing("edge-2"), { ...existing("edge"), count: 2 }],
                    nodeLabels: { "edge-3": { tier: "edge" } },
                }),
            {
                message: [
                    "2 problems in the stack config:",
                    '  - k3s-multicloud:nodes[2].name = "edge": gives "edge-2" (a member of the pool edge), which nodes[1] already names. Give each node its own name; a pool names its nodes <name>-1 to <name>-<count>.',
                    '  - k3s-multicloud:nodeLabels["edge-3"] = "edge-3": names no node of this cluster. Did you mean edge-2? Key it by a node name: s, edge-2, edge-1.',
                ].join("\n"),
            },
        );
    });

    it("an Alibaba term is one SWAS sells (1, 3, 6, 12, 24 or 36 months), in the schema and in the message", () => {
        const swas = (period: number) => ({ k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "sh-1", role: "server", cloud: "aliyun", region: "cn-shanghai", planId: "p", imageId: "i", period }] });
        assert.throws(() => parseStackConfig(swas(2)), { message: "k3s-multicloud:nodes[0].period = 2: is not one of the choices. Use 1, 3, 6, 12, 24 or 36." });
        assert.doesNotThrow(() => parseStackConfig(swas(36)));
    });

    it("two existing servers at one public address (one home router, or one machine twice) are refused, saying why", () => {
        const node = (name: string, role: string, publicIp: string) => ({ name, role, cloud: "existing", publicIp, location: "home" });
        assert.throws(
            () => parseStackConfig({ k3sVersion: "v1.33.6+k3s1", nodes: [node("s", "server", "198.51.100.7"), node("pi-1", "agent", "203.0.113.10"), node("pi-2", "agent", "203.0.113.10")] }),
            {
                message:
                    'k3s-multicloud:nodes pi-1, pi-2 = "203.0.113.10": share one public address: WireGuard peers are keyed by endpoint, so every other node keeps only one of them (flannel removes a peer whose endpoint another key took), and a router forwards UDP 51820 to one machine only. ' +
                    "Give each node its own public address (another connection or a VPS), or keep one of them in the cluster; if it is the same machine listed twice, remove one entry.",
            },
        );
    });

    it("the YAML example's cluster is a valid MulticloudCluster by the same schema the component checks", () => {
        const program = parse(readFileSync(join(ROOT, "examples", "yaml", "Pulumi.yaml"), "utf8"));
        const cluster = program.resources.cluster;
        assert.equal(cluster.type, "k3s-multicloud:MulticloudCluster");
        const inputs = JSON.parse(readFileSync(join(ROOT, "tests", "golden", "component-schema.json"), "utf8")).resources["k3s-multicloud:index:MulticloudCluster"].inputProperties;
        assert.deepEqual(Object.keys(cluster.properties).filter((key) => !(key in inputs)), []);
        const spec = checkClusterSpec(cluster.properties, componentSource("cluster"));
        assert.deepEqual(spec.nodes.map((n) => `${n.name} ${n.cloud} ${n.count ?? 1}`), ["home-1 existing 1", "tokyo vultr 2"]);
        assert.throws(() => checkClusterSpec({ ...cluster.properties, nodeLable: {} }, componentSource("cluster")), {
            message: 'MulticloudCluster(cluster).nodeLable = {}: is not an input of MulticloudCluster. Did you mean nodeLabels?',
        });
    });

    it("the YAML example declares only its own project's config keys with a type (the CLI refuses the file otherwise)", () => {
        const program = parse(readFileSync(join(ROOT, "examples", "yaml", "Pulumi.yaml"), "utf8"));
        // The real CLI, given a typed `vultr:apiKey` (the stack lab's --break engine-yaml): "Configuration key
        // 'vultr:apiKey' is not namespaced by the project and should not define a type".
        const foreignTyped = Object.entries(program.config as Record<string, { type?: string }>).filter(([key, value]) => key.includes(":") && !key.startsWith(`${program.name}:`) && value?.type !== undefined);
        assert.deepEqual(foreignTyped.map(([key]) => key), []);
        assert.deepEqual(Object.keys(program.config), ["sshPrivateKey"]);
    });

    it("the Python example at least compiles (its SDK is generated by `pulumi package add`, not here)", function () {
        const python = spawnSync("python3", ["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", join(ROOT, "examples", "python", "__main__.py")], { encoding: "utf8" });
        if (python.error) this.skip();
        assert.equal(python.status, 0, python.stderr);
    });
});

describe("MulticloudCluster (the data-only component)", () => {
    let cloud: MockCloud;
    beforeEach(async () => {
        cloud = await MockCloud.install();
    });

    const node = { name: "lab-1", role: "server" as const, cloud: "existing" as const, publicIp: "203.0.113.10", location: "home-lab", insecureIgnoreHostKey: true };

    it("builds a pool's nodes and outputs them, the kubeconfig secret", async () => {
        const cluster = new MulticloudCluster("lab", {
            k3sVersion: "v1.33.6+k3s1",
            nodes: [node, { name: "edge", role: "agent", cloud: "existing", publicIp: "203.0.113.20", location: "home-lab", insecureIgnoreHostKey: true, count: 2 }],
            secrets: { sshPrivateKey: "key" },
            verifyMesh: false,
        });
        const nodes = await resolveOutput(cluster.nodes);
        assert.deepEqual(nodes.value!.map((n) => `${n.name} ${n.role} ${n.publicIp}`), ["lab-1 server 203.0.113.10", "edge-1 agent 203.0.113.20", "edge-2 agent 203.0.113.20"]);
        assert.equal((await resolveOutput(cluster.kubeconfig)).secret, true);
        const connection = cloud.registrations.find((r) => r.name === "lab-lab-1-prepare")!.inputs.connection;
        assert.equal(isSecretValue(connection), true, "the SSH key given in secrets reaches the steps as a secret");
    });

    it("takes the cluster's tokens from secrets when given (no random provider needed), and generates them otherwise", async () => {
        new MulticloudCluster("given", {
            k3sVersion: "v1.33.6+k3s1",
            nodes: [node, { name: "edge", role: "agent", cloud: "existing", publicIp: "203.0.113.30", location: "home-lab", insecureIgnoreHostKey: true }],
            secrets: { sshPrivateKey: "key", k3sToken: "server-token-given-by-the-stack-0123", k3sAgentToken: "agent-token-given-by-the-stack-0123" },
            verifyMesh: false,
        });
        new MulticloudCluster("generated", { k3sVersion: "v1.33.6+k3s1", nodes: [{ ...node, publicIp: "203.0.113.40" }], secrets: { sshPrivateKey: "key" }, verifyMesh: false });
        await cloud.settle();
        const passwords = cloud.ofType(TYPES.randomPassword).map((r) => r.name).filter((n) => n.endsWith("token")).sort();
        assert.deepEqual(passwords, ["generated-agent-token", "generated-token"]);
        const stdin = String(unwrap(cloud.named("given-lab-1-install").inputs.stdin));
        assert.equal(stdin, "server-token-given-by-the-stack-0123\nagent-token-given-by-the-stack-0123\n");
        assert.equal(isSecretValue(cloud.named("given-lab-1-install").inputs.stdin), true);
    });

    it("refuses an output where the cluster's structure is decided, and names a missing secret by the node that needs it", () => {
        assert.throws(
            () => new MulticloudCluster("lab", { k3sVersion: "v1.33.6+k3s1", nodes: [{ ...node, location: pulumi.output("home") as unknown as string }], secrets: { sshPrivateKey: "k" } }),
            (error: unknown) => {
                assert.ok(error instanceof ConfigError);
                assert.equal(
                    error.message,
                    'MulticloudCluster(lab).nodes[0].location = "(an output)": must be known when the program runs, not an output of another resource. Write it as a plain value; only node addresses (publicIp, privateIp), host keys and secrets may be outputs.',
                );
                return true;
            },
        );
        assert.throws(() => new MulticloudCluster("lab2", { k3sVersion: "v1.33.6+k3s1", nodes: [{ ...node, privateKeySecret: "homeKey" }], secrets: {} }), {
            message:
                "MulticloudCluster(lab2).secrets.homeKey = (not set): is needed by nodes[0] (lab-1). Give it: in a stack, `pulumi config set --secret k3s-multicloud:homeKey < ~/.ssh/id_ed25519`; in a program, secrets: {homeKey: ...}.",
        });
        // An output where the declaration allows one (pulumi.Input) is fine.
        assert.doesNotThrow(() => new MulticloudCluster("lab3", { k3sVersion: "v1.33.6+k3s1", nodes: [{ ...node, publicIp: pulumi.output("203.0.113.10"), behindNat: false }], secrets: { sshPrivateKey: "k" } }));
    });

    it("reports every shape mistake of its inputs at once, named as inputs", () => {
        assert.throws(
            () => new MulticloudCluster("bad", { k3sVersion: "v1.33.6+k3s1", nodes: [{ ...node, port: 0 }], maxUnavailable: 1.5 } as never),
            (error: unknown) => {
                assert.ok(error instanceof ConfigErrors);
                assert.equal(
                    error.message,
                    [
                        "2 problems in the inputs of MulticloudCluster(bad):",
                        "  - MulticloudCluster(bad).nodes[0].port = 0: must be a whole number from 1 to 65535. Write it without quotes, e.g. 22.",
                        "  - MulticloudCluster(bad).maxUnavailable = 1.5: must be a whole number from 1 to 500. Write it without quotes, e.g. 1.",
                    ].join("\n"),
                );
                return true;
            },
        );
    });
});
