import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { renderMeshDiagram } from "../../stacks/plan/meshDiagram";
import { PlanData, apiEnforcement } from "../../stacks/plan/renderPlan";
import { parseStackConfig } from "../../stacks/stackConfig";
import { readRawConfig } from "../../stacks/readConfig";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, ConfigErrors } from "../../components";
import { stringify } from "yaml";
import { generateStack } from "../../bench/generateStack";

const ROOT = resolve(__dirname, "..", "..");

/** The diff section for tokyo-2 added and tokyo-1's label changed (see the test below). */
const EXPECTED_DIFF = "## Changes since base.json\n\n- node **tokyo-2** added (vultr, nrt, agent)\n- firewall rule opened: tokyo-1 vultr 10250/tcp from tokyo-2 (/32) (kubelet (metrics-server))\n- firewall rule opened: tokyo-1 vultr 51820:51821/udp from tokyo-2 (/32) (flannel wireguard-native (IPv4 51820, IPv6 51821))\n- firewall rule opened: tokyo-2 vultr 22/tcp from anywhere (SSH (sshAllowedCidrs))\n- firewall rule opened: tokyo-2 vultr 10250/tcp from sh-server (/32) (kubelet (metrics-server))\n- firewall rule opened: tokyo-2 vultr 10250/tcp from tokyo-1 (/32) (kubelet (metrics-server))\n- firewall rule opened: tokyo-2 vultr 51820:51821/udp from sh-server (/32) (flannel wireguard-native (IPv4 51820, IPv6 51821))\n- firewall rule opened: tokyo-2 vultr 51820:51821/udp from tokyo-1 (/32) (flannel wireguard-native (IPv4 51820, IPv6 51821))\n- tokyo-1: label `example.com/tier`: `edge` \u2192 `core`\n";

/** Runs `npm run plan -- ...` the way a user does (through tsx, in a fresh process). */
function plan(...args: string[]) {
    const result = spawnSync(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "stacks", "plan", "cli.ts"), ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 120_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("offline plan (npm run plan)", function () {
    this.timeout(180_000);

    it("prints the dev plan exactly as the golden file, and the same bytes twice", () => {
        const first = plan("dev");
        const second = plan("dev");
        assert.equal(first.status, 0, first.stderr);
        assert.equal(first.stdout, readFileSync(join(ROOT, "tests", "golden", "plan-dev.md"), "utf8"));
        assert.equal(second.stdout, first.stdout);
    });

    it("prints the prod plan with every section", () => {
        const run = plan("prod");
        assert.equal(run.status, 0, run.stderr);
        // What cannot be checked offline, once per value and region, with where to look it up.
        assert.ok(run.stdout.includes("\n| `nodes[].plan (vultr)` | `vc2-2c-4gb` | nrt-1, nrt-2 | https://api.vultr.com/v2/plans, and that nrt sells it: https://api.vultr.com/v2/regions/nrt/availability |\n"));
        assert.ok(run.stdout.includes("\n| `nodes[].plan (vultr)` | `vc2-2c-4gb` | sgp-1 | https://api.vultr.com/v2/plans, and that sgp sells it: https://api.vultr.com/v2/regions/sgp/availability |\n"));
        for (const heading of ["## Nodes", "## Machines", "## Not checked offline", "## WireGuard mesh", "```mermaid", "## Firewall rules", "## Managed annotations and labels", "## config.yaml per node", "## Warnings"]) {
            assert.ok(run.stdout.includes(`\n${heading}\n`), heading);
        }
        assert.ok(run.stdout.includes("| home-1 | existing | home-lab | agent | 203.0.113.10 | 192.168.1.20 | yes | GitHub |"));
        assert.ok(run.stdout.includes("kube-proxy-arg:\n  - proxy-mode=ipvs\n  - masquerade-all=true\n"));
        assert.ok(run.stdout.includes("| annotation | example.com/owner | platform-team |"));
        assert.ok(
            run.stdout.includes(
                "| server | cloud firewall | host firewall |\n| --- | --- | --- |\n| hz-server | anyone (SWAS rules made through Pulumi cannot filter by source) | cluster members, 198.51.100.0/24 (nftables; ufw where active) |\n",
            ),
            "prod says how apiAllowedCidrs is enforced on its server",
        );
        // What each machine is and what keeping it costs, from the instances the program registers.
        const machines = run.stdout.split("\n## Machines\n\n")[1].split("\n\n")[0];
        assert.equal(
            machines,
            [
                "| node | size | terms |",
                "| --- | --- | --- |",
                "| hz-server | SWAS plan `swas.s2.c2m4s60b5t1` | prepaid 12-month term, renews automatically every 12 months; destroy does not release it |",
                "| nrt-1 | Vultr plan `vc2-2c-4gb` | hourly, up to the plan's monthly cap; destroy deletes it |",
                "| nrt-2 | Vultr plan `vc2-2c-4gb` | hourly, up to the plan's monthly cap; destroy deletes it |",
                "| sgp-1 | Vultr plan `vc2-2c-4gb` | hourly, up to the plan's monthly cap; destroy deletes it |",
                "| home-1 | your server | yours (not billed through this stack) |",
            ].join("\n"),
        );
        // How each node is reached and trusted, what a home router must forward, where mainland images come from.
        const access = run.stdout.split("\n## Access\n\n")[1].split("\n\n")[0];
        assert.equal(
            access,
            [
                "| node | OS image | SSH | host key | router must forward | docker.io images from |",
                "| --- | --- | --- | --- | --- | --- |",
                "| hz-server | SWAS image matching ^Ubuntu-22.04, looked up at deploy | root, port 22 | trusted on first use (SWAS has no user-data) | - | k3s system images (rancher/*) from https://registry.cn-hangzhou.aliyuncs.com; everything else from docker.io |",
                '| nrt-1 | Vultr OS "Ubuntu 24.04 LTS x64", looked up at deploy | root, port 22 | generated by this stack, installed by cloud-init, pinned | - | docker.io |',
                '| nrt-2 | Vultr OS "Ubuntu 24.04 LTS x64", looked up at deploy | root, port 22 | generated by this stack, installed by cloud-init, pinned | - | docker.io |',
                '| sgp-1 | Vultr OS "Ubuntu 24.04 LTS x64", looked up at deploy | root, port 22 | generated by this stack, installed by cloud-init, pinned | - | docker.io |',
                "| home-1 | yours | ubuntu@203.0.113.10:22 | given in the stack (hostKey), pinned | 22/tcp, 51820/udp and 10250/tcp to 192.168.1.20 | docker.io |",
            ].join("\n"),
        );
        // What a reviewer must see: the host firewall and the example's placeholder keys.
        assert.ok(run.stdout.includes("| 6443/tcp | servers | cluster members, 198.51.100.0/24 |"), "prod narrows the API");
        assert.ok(run.stdout.includes("\n- PLACEHOLDER KEY: home-1.hostKey is the example's placeholder; set the server's own host key before `pulumi up`, or every SSH session to it fails the pin.\n"));
        // The example files hold no secrets: the plan says which ones `pulumi up` needs, and how to set them.
        assert.ok(run.stdout.includes("\n- MISSING SECRET: k3s-multicloud:sshPrivateKey (the SSH private key of nrt-1, nrt-2, sgp-1) is not set in Pulumi.prod.yaml; `pulumi up` stops until it is: `pulumi config set --secret -s prod k3s-multicloud:sshPrivateKey < ~/.ssh/id_ed25519`.\n"));
        assert.ok(run.stdout.includes("\n- MISSING SECRET: k3s-multicloud:homeSshKey (the SSH private key of home-1) is not set in Pulumi.prod.yaml;"));
    });

    it("flags a secret the nodes need that the stack file does not hold, and not one it holds encrypted", () => {
        const dir = mkdtempSync(join(tmpdir(), "k3smc-plan-"));
        try {
            const base = [
                "config:",
                "  k3s-multicloud:k3sVersion: v1.33.6+k3s1",
                "  k3s-multicloud:nodes:",
                "    - {name: s-1, role: server, cloud: existing, publicIp: 203.0.113.10, location: lab, insecureIgnoreHostKey: true, passwordSecret: labPassword}",
            ];
            writeFileSync(join(dir, "Pulumi.bare.yaml"), [...base, ""].join("\n"));
            writeFileSync(join(dir, "Pulumi.set.yaml"), [...base, "  k3s-multicloud:labPassword:", "    secure: v1:c2VjcmV0", ""].join("\n"));
            const bare = plan("bare", "--config-dir", dir);
            assert.equal(bare.status, 0, bare.stderr);
            assert.ok(bare.stdout.includes("\n- MISSING SECRET: k3s-multicloud:labPassword (the SSH password of s-1) is not set in Pulumi.bare.yaml; `pulumi up` stops until it is: `pulumi config set --secret -s bare k3s-multicloud:labPassword` (it asks for the value).\n"));
            const set = plan("set", "--config-dir", dir);
            assert.equal(set.status, 0, set.stderr);
            assert.equal(set.stdout.includes("MISSING SECRET"), false);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("exits non-zero with the validation message for a broken stack config", () => {
        const dir = mkdtempSync(join(tmpdir(), "k3smc-plan-"));
        try {
            writeFileSync(
                join(dir, "Pulumi.broken.yaml"),
                [
                    "config:",
                    "  k3s-multicloud:k3sVersion: v1.33.6+k3s1",
                    "  k3s-multicloud:sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpSZXBsYWNl ops@example",
                    "  k3s-multicloud:nodes:",
                    "    - {name: s-1, role: server, cloud: existing, publicIp: 203.0.113.10, location: lab, insecureIgnoreHostKey: true}",
                    "    - {name: v-1, role: agent, cloud: vultr, region: nrt, plan: vc2-1c-2gb, osId: \"2284\"}",
                    "",
                ].join("\n"),
            );
            const run = plan("broken", "--config-dir", dir);
            assert.equal(run.status, 1);
            assert.equal(run.stdout, "");
            assert.equal(run.stderr, 'error: k3s-multicloud:nodes[1].osId = "2284": must be a whole number from 1 to 1000000. Write it without quotes, e.g. 2284.\n');
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("reports a YAML syntax error with file, line, column and the line itself, without a stack trace", () => {
        const dir = mkdtempSync(join(tmpdir(), "k3smc-plan-"));
        try {
            writeFileSync(join(dir, "Pulumi.typo.yaml"), "config:\n  k3s-multicloud:k3sVersion: v1.33.6+k3s1\n   k3s-multicloud:nodes: []\n");
            const run = plan("typo", "--config-dir", dir);
            assert.equal(run.status, 1);
            assert.equal(
                run.stderr,
                `error: ${join(dir, "Pulumi.typo.yaml")}:2:30 = "  k3s-multicloud:k3sVersion: v1.33.6+k3s1": is not valid YAML: Nested mappings are not allowed in compact mappings. Fix the file at line 2, column 30:\n      k3s-multicloud:k3sVersion: v1.33.6+k3s1\n                                 ^\n`,
            );
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    describe("for a pull-request comment (--pr)", () => {
        let dir: string;
        before(() => {
            dir = mkdtempSync(join(tmpdir(), "k3smc-plan-pr-"));
            for (const size of [25, 120]) {
                const stack = generateStack(size);
                const config: Record<string, unknown> = {};
                for (const [key, value] of Object.entries(stack)) {
                    if (value !== undefined && !(typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0)) config[`k3s-multicloud:${key}`] = value;
                }
                writeFileSync(join(dir, `Pulumi.n${size}.yaml`), stringify({ config }));
            }
        });
        after(() => rmSync(dir, { recursive: true, force: true }));

        it("keeps a 25-node plan under 60,000 characters with every section folded", () => {
            const full = plan("n25", "--config-dir", dir);
            const pr = plan("n25", "--config-dir", dir, "--pr");
            assert.equal(pr.status, 0, pr.stderr);
            assert.ok(pr.stdout.length < 60_000, `${pr.stdout.length} characters`);
            assert.ok(pr.stdout.length < full.stdout.length);
            for (const section of ["Nodes", "WireGuard mesh", "Firewall rules", "Managed annotations and labels", "config.yaml per node"]) {
                assert.ok(pr.stdout.includes(`<details><summary>${section}</summary>`), section);
            }
            assert.ok(pr.stdout.startsWith("### k3s-multicloud plan: stack `n25`\n\nk3s v1.33.6+k3s1 · 25 nodes (1 server, 24 agents)"));
            assert.ok(pr.stdout.includes("Every node peers with every other over its public IP (300 tunnels); the diagram is in the full plan."));
            assert.ok(pr.stdout.includes("... and 15 more in the full plan."), "config.yaml for the first 10 nodes only");
            // Past 20 peers a Vultr firewall group opens WireGuard and the kubelet to anywhere: the plan says so, per host.
            assert.match(
                full.stdout,
                /\n- n25: a Vultr firewall group holds at most 50 rules, too few for one rule per peer and port, so the cloud firewall opens these ports to anywhere: [a-z0-9-]+ \(51820:51821\/udp, 10250\/tcp\)(, [a-z0-9-]+ \(51820:51821\/udp, 10250\/tcp\))*; the host firewall on each node still admits only the cluster's members\. The API \(6443\) and etcd are never opened this way\.\n/,
            );
        });

        it("stays within the budget it is given, naming what it left out", () => {
            const pr = plan("n120", "--config-dir", dir, "--pr", "--budget", "12000");
            assert.equal(pr.status, 0, pr.stderr);
            assert.ok(pr.stdout.length <= 12_000, `${pr.stdout.length} characters`);
            assert.match(pr.stdout, /\nLeft out to fit a comment: config\.yaml per node(, [A-Za-z ]+)* \(see the full plan\)\.\n$/);
            assert.ok(pr.stdout.includes("**Warnings**"), "the warnings always stay");
        });
    });

    it("shows what changed against a previous plan's JSON: a node added, a label changed", () => {
        const dir = mkdtempSync(join(tmpdir(), "k3smc-plan-diff-"));
        try {
            const dev = readFileSync(join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8");
            const base = `${dev}  k3s-multicloud:nodeLabels:\n    tokyo-1:\n      example.com/tier: edge\n`;
            const head = base
                .replace("example.com/tier: edge", "example.com/tier: core")
                .replace("      plan: vc2-1c-2gb\n      osId: 2284\n", "      plan: vc2-1c-2gb\n      osId: 2284\n    - name: tokyo-2\n      role: agent\n      cloud: vultr\n      region: nrt\n      plan: vc2-1c-2gb\n      osId: 2284\n");
            writeFileSync(join(dir, "Pulumi.base.yaml"), base);
            writeFileSync(join(dir, "Pulumi.head.yaml"), head);
            const json = plan("base", "--config-dir", dir, "--json");
            assert.equal(json.status, 0, json.stderr);
            writeFileSync(join(dir, "base.json"), json.stdout);
            const run = plan("head", "--config-dir", dir, "--against", join(dir, "base.json"));
            assert.equal(run.status, 0, run.stderr);
            assert.equal(run.stdout.split("\n# k3s-multicloud plan")[0], EXPECTED_DIFF);
            const unchanged = plan("base", "--config-dir", dir, "--against", join(dir, "base.json"));
            assert.ok(unchanged.stdout.startsWith("## Changes since base.json\n\nNo change to nodes, firewall rules, annotations, labels or config.yaml.\n"));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names a missing stack file", () => {
        const run = plan("nosuchstack");
        assert.equal(run.status, 1);
        assert.match(run.stderr, /^error: stack = "nosuchstack": has no config file .*stacks\/Pulumi\.nosuchstack\.yaml\. Name a stack that has a stacks\/Pulumi\.<stack>\.yaml, e\.g\. dev\.\n$/);
    });
});

describe("who reaches the API on each server (plan)", () => {
    const node = (name: string, cloud: "aliyun" | "vultr" | "existing", role: "server" | "agent") =>
        ({ name, cloud, role, location: "x", publicIp: "198.51.100.9", privateIp: "10.0.0.9", behindNat: false, sshUser: "root", sshPort: 22 }) as const;
    const plan = (apiAllowedCidrs: string[], filtered: string[]): PlanData => ({
        stack: "t",
        installSources: {},
        k3sVersion: "v1.33.6+k3s1",
        nodes: [node("swas-s", "aliyun", "server"), node("vultr-s", "vultr", "server"), node("own-s", "existing", "server"), node("vultr-a", "vultr", "agent")],
        configs: {},
        firewall: [
            { node: "vultr-s", cloud: "vultr", protocol: "tcp", port: "6443", source: "203.0.113.7/32", purpose: "api" },
            { node: "vultr-s", cloud: "vultr", protocol: "tcp", port: "6443", source: "198.51.100.0/24", purpose: "api" },
            { node: "vultr-s", cloud: "vultr", protocol: "udp", port: "51820", source: "203.0.113.7/32", purpose: "wg" },
        ],
        resourceCounts: {},
        hostFirewall: { nodes: filtered, apiAllowedCidrs },
        metadata: {},
        warnings: [],
    });

    it("names both layers per server, and nobody when a Vultr group has no rule for 6443", () => {
        assert.deepEqual(apiEnforcement(plan(["198.51.100.0/24"], ["swas-s", "vultr-s", "vultr-a"])), [
            ["swas-s", "anyone (SWAS rules made through Pulumi cannot filter by source)", "cluster members, 198.51.100.0/24 (nftables; ufw where active)"],
            ["vultr-s", "203.0.113.7/32, 198.51.100.0/24", "cluster members, 198.51.100.0/24 (nftables; ufw where active)"],
            ["own-s", "none created: whatever you run in front of it", "off (hostFirewall: false): the host's own rules"],
        ]);
        const open = apiEnforcement({ ...plan(["0.0.0.0/0"], ["swas-s"]), firewall: [] });
        assert.deepEqual(open.map((row) => row.slice(1)), [
            ["anyone (SWAS rules made through Pulumi cannot filter by source)", "anyone (apiAllowedCidrs 0.0.0.0/0) (nftables; ufw where active)"],
            ["nobody (no rule for 6443)", "off (hostFirewall: false): the host's own rules"],
            ["none created: whatever you run in front of it", "off (hostFirewall: false): the host's own rules"],
        ]);
    });
});

describe("mesh diagram", () => {
    it("groups nodes by cloud and location, marks NAT, highlights the server and links every pair", () => {
        assert.equal(
            renderMeshDiagram([
                { name: "sh-server", cloud: "aliyun", location: "cn-shanghai", role: "server", publicIp: "1.1.1.1", privateIp: "10.0.0.1", behindNat: true, sshUser: "root", sshPort: 22 },
                { name: "tokyo-1", cloud: "vultr", location: "nrt", role: "agent", publicIp: "2.2.2.2", privateIp: "2.2.2.2", behindNat: false, sshUser: "root", sshPort: 22 },
                { name: "home-1", cloud: "existing", location: "home", role: "agent", publicIp: "3.3.3.3", privateIp: "192.168.1.2", behindNat: true, sshUser: "root", sshPort: 22 },
            ]),
            [
                "flowchart LR",
                '    subgraph aliyun___cn_shanghai["aliyun · cn-shanghai"]',
                '        sh_server[["sh-server<br/>server · behind NAT"]]',
                "    end",
                '    subgraph existing___home["existing · home"]',
                '        home_1["home-1<br/>agent · behind NAT"]',
                "    end",
                '    subgraph vultr___nrt["vultr · nrt"]',
                '        tokyo_1["tokyo-1<br/>agent"]',
                "    end",
                '    sh_server <-- "wg 51820/udp" --> tokyo_1',
                '    sh_server <-- "wg 51820/udp" --> home_1',
                '    tokyo_1 <-- "wg 51820/udp" --> home_1',
                "    classDef server fill:#fde68a,stroke:#b45309,stroke-width:2px",
                "    class sh_server server",
            ].join("\n"),
        );
    });
});

describe("stack config parsing", () => {
    function rejects(raw: Record<string, unknown>, message: string) {
        assert.throws(() => parseStackConfig(raw), (error: unknown) => {
            assert.ok(error instanceof ConfigError || error instanceof ConfigErrors);
            assert.equal(error.message, message);
            return true;
        });
    }

    it("rejects unknown settings, clouds and fields with the allowed ones", () => {
        rejects({ k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }], sshKey: "x" }, 'k3s-multicloud:sshKey = "x": is not a setting of this program. Use one of k3sVersion, nodes, options, sshPublicKey, sshAllowedCidrs, apiAllowedCidrs, vultrFirewallRuleLimit, caGeneration, adminCredentialGeneration, nodeAnnotations, nodeLabels, nodeTaints, maxUnavailable, verifyMesh, meshTimeoutSeconds, hostFirewall, podMetadataAccess, protectServers (docs/configuration.md, "Stack config").');
        rejects({ k3sVersion: "v1.33.6+k3s1", nodes: [] }, 'k3s-multicloud:nodes = []: must list at least 1 entry. List at least one server (docs/configuration.md, "Stack config").');
        rejects({ k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "a", role: "server", cloud: "hetzner" }] }, 'k3s-multicloud:nodes[0].cloud = "hetzner": is not one of the choices. Use "aliyun", "vultr" or "existing".');
        rejects(
            { k3sVersion: "v1.33.6+k3s1", sshPublicKey: "ssh-ed25519 AAAA ops@x", nodes: [{ name: "a", role: "server", cloud: "vultr", region: "nrt", plan: "p", size: 2 }] },
            "k3s-multicloud:nodes[0].size = 2: is not a setting here. Use one of name, role, cloud, count, region, plan, osId, osName, enableIpv6, tags.",
        );
        rejects({ k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "a", role: "master", cloud: "existing", publicIp: "1.2.3.4", location: "x" }] }, 'k3s-multicloud:nodes[0].role = "master": is not one of the choices. Use "server" or "agent".');
    });

    it("reports every shape mistake at once", () => {
        assert.throws(
            () =>
                parseStackConfig({
                    k3sVersion: "v1.33.6+k3s1",
                    sshAllowedCidr: [],
                    nodes: [
                        { name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" },
                        { name: "b", role: "master", cloud: "existing", publicIp: "203.0.113.2", location: "lab" },
                    ],
                    verifyMesh: "yes",
                }),
            {
                name: "ConfigErrors",
                message: [
                    "3 problems in the stack config:",
                    "  - k3s-multicloud:sshAllowedCidr = []: is not a setting of this program. Did you mean sshAllowedCidrs? Write it as `k3s-multicloud:sshAllowedCidrs: ...` in the stack file.",
                    '  - k3s-multicloud:nodes[1].role = "master": is not one of the choices. Use "server" or "agent".',
                    '  - k3s-multicloud:verifyMesh = "yes": must be true or false. Write it without quotes: true or false.',
                ].join("\n"),
            },
        );
    });

    it("suggests the setting a typo meant, in the YAML the user writes", () => {
        const base = { k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }] };
        rejects(
            { ...base, sshAllowedCidr: ["198.51.100.0/24"] },
            'k3s-multicloud:sshAllowedCidr = ["198.51.100.0/24"]: is not a setting of this program. Did you mean sshAllowedCidrs? Write it as `k3s-multicloud:sshAllowedCidrs: ...` in the stack file.',
        );
        rejects(
            { ...base, nodes: [{ name: "a", role: "server", cloud: "aliyun", region: "cn-hangzhou", planid: "p" }] },
            'k3s-multicloud:nodes[0].planid = "p": is not a setting here. Did you mean planId? Write it as `planId: ...`. Settings here: name, role, cloud, count, region, planId, planSize, imageId, image, period, autoRenew, hostKeyGeneration.',
        );
    });

    it("expands a node pool (count) into numbered nodes with the same settings", () => {
        const parsed = parseStackConfig({
            k3sVersion: "v1.33.6+k3s1",
            sshPublicKey: "ssh-ed25519 AAAA ops@x",
            nodes: [
                { name: "s", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" },
                { name: "pool", role: "agent", cloud: "vultr", region: "nrt", plan: "vc2-1c-2gb", osId: 2284, count: 24 },
            ],
            nodeLabels: { "pool-3": { tier: "edge" } },
        });
        assert.deepEqual(parsed.nodes.map((n) => n.name), ["s", ...Array.from({ length: 24 }, (_, i) => `pool-${i + 1}`)]);
        assert.deepEqual(parsed.nodes[3], { name: "pool-3", role: "agent", cloud: "vultr", region: "nrt", plan: "vc2-1c-2gb", osId: 2284 });
        assert.deepEqual(parsed.nodeLabels, { "pool-3": { tier: "edge" } });
        rejects(
            { k3sVersion: "v1.33.6+k3s1", sshPublicKey: "ssh-ed25519 AAAA ops@x", nodes: [{ name: "s", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }, { name: "pool", role: "agent", cloud: "vultr", region: "nrt", plan: "p", count: "3" }] },
            'k3s-multicloud:nodes[1].count = "3": must be a whole number from 1 to 500. Write it without quotes, e.g. 3.',
        );
        // A pool's mistake is the entry's, reported once (before it is expanded).
        rejects(
            { k3sVersion: "v1.33.6+k3s1", sshPublicKey: "ssh-ed25519 AAAA ops@x", nodes: [{ name: "pool", role: "server", cloud: "vultr", region: "nrt", count: 2 }] },
            "k3s-multicloud:nodes[0].plan = (not set): is required for a vultr node. Set it, e.g. plan: vc2-1c-2gb.",
        );
    });

    it("reads the whole namespace in a real run, so a typo'd key is refused, and leaves encrypted values unread", () => {
        pulumi.runtime.setAllConfig(
            { "k3s-multicloud:k3sVersion": "v1.33.6+k3s1", "k3s-multicloud:sshAllowedCidr": '["0.0.0.0/0"]', "k3s-multicloud:sshPrivateKey": "ciphertext", "other:key": "x" },
            ["k3s-multicloud:sshPrivateKey"],
        );
        assert.deepEqual(readRawConfig(new pulumi.Config("k3s-multicloud")), { k3sVersion: "v1.33.6+k3s1", sshAllowedCidr: ["0.0.0.0/0"] });
        pulumi.runtime.setAllConfig({});
    });

    it("reads the mesh check settings, typed", () => {
        const base = { k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }] };
        const parsed = parseStackConfig({ ...base, verifyMesh: false, meshTimeoutSeconds: 600, hostFirewall: false });
        assert.deepEqual([parsed.verifyMesh, parsed.meshTimeoutSeconds, parsed.hostFirewall], [false, 600, false]);
        rejects({ ...base, verifyMesh: "false" }, 'k3s-multicloud:verifyMesh = "false": must be true or false. Write it without quotes: true or false.');
        rejects({ ...base, meshTimeoutSeconds: "60; reboot" }, 'k3s-multicloud:meshTimeoutSeconds = "60; reboot": must be a whole number from 1 to 3600. Write it without quotes, e.g. 180.');
        // An upper bound too: a typo of 31 years does not pass a preview.
        rejects({ ...base, meshTimeoutSeconds: 1e9 }, "k3s-multicloud:meshTimeoutSeconds = 1000000000: must be a whole number from 1 to 3600. Write it without quotes, e.g. 180.");
    });

    it("parses a valid config into typed values, and asks for the SSH public key as soon as a node is on Vultr", () => {
        const parsed = parseStackConfig({
            k3sVersion: "v1.33.6+k3s1",
            nodes: [{ name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }],
            nodeLabels: { a: { tier: "edge" } },
        });
        assert.deepEqual(parsed, {
            k3sVersion: "v1.33.6+k3s1",
            nodes: [{ name: "a", role: "server", cloud: "existing", publicIp: "203.0.113.1", location: "lab" }],
            nodeLabels: { a: { tier: "edge" } },
        });
        rejects(
            { k3sVersion: "v1.33.6+k3s1", nodes: [{ name: "a", role: "server", cloud: "vultr", region: "nrt", plan: "vc2-1c-2gb" }] },
            "k3s-multicloud:sshPublicKey = (not set): is required when a node is on Vultr. Set it, e.g. sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... ops@example.",
        );
    });
});
