import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { NodeStepsInput, renderNodeSteps } from "../../components/k3s/nodeSteps";
import { renderRegistries } from "../../components/k3s/registries";
import { ScriptSandbox } from "../harness/scriptSandbox";

/**
 * A registry on loopback that behaves like a public mirror: anonymous pulls get a 401 with a Bearer challenge, the
 * token endpoint hands out a token, and a manifest HEAD with it answers 200 for the images it carries, 404 otherwise.
 * The install step talks to it with the real curl (the curl stand-in passes loopback calls through).
 */
const REGISTRY = `
const http = require("node:http");
const carried = new Set(process.argv[1].split(","));
const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (url.pathname === "/token") {
        res.setHeader("content-type", "application/json");
        return res.end(url.searchParams.get("service") === "lab-registry" ? JSON.stringify({ token: "pull-token" }) : "{}");
    }
    const m = /^\\/v2\\/(.+)\\/manifests\\/([^/]+)$/.exec(url.pathname);
    if (!m) { res.statusCode = 404; return res.end(); }
    if (req.headers.authorization !== "Bearer pull-token") {
        res.statusCode = 401;
        res.setHeader("www-authenticate", 'Bearer realm="http://127.0.0.1:' + server.address().port + '/token",service="lab-registry",scope="repository:' + m[1] + ':pull"');
        return res.end();
    }
    res.statusCode = carried.has(m[1] + ":" + m[2]) ? 200 : 404;
    res.end();
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

const SYSTEM_IMAGES = [
    "docker.io/rancher/mirrored-pause:3.6",
    "docker.io/rancher/mirrored-coredns-coredns:1.12.3",
    "docker.io/rancher/mirrored-library-traefik:3.3.6",
    "registry.k8s.io/not-through-the-docker-io-mirror:1.0",
];

function startRegistry(carried: string[]): Promise<{ child: ChildProcess; port: number }> {
    return new Promise((resolvePromise, reject) => {
        const child = spawn(process.execPath, ["-e", REGISTRY, carried.join(",")], { stdio: ["ignore", "pipe", "inherit"] });
        child.stdout!.once("data", (chunk) => resolvePromise({ child, port: Number(String(chunk).trim()) }));
        child.on("error", reject);
    });
}

describe("China registry mirrors: registries.yaml, checked on the node before k3s starts (real bash and curl, a fake registry)", () => {
    let box: ScriptSandbox;
    let registry: { child: ChildProcess; port: number } | undefined;
    const TOKEN = "K10-test-token-7c1d";

    function mainlandSteps(port: number, options: NodeStepsInput["config"]["options"] = {}) {
        const input = mainlandInput();
        return renderNodeSteps({ ...input, config: { ...input.config, options }, registries: renderRegistries([`http://127.0.0.1:${port}`]) });
    }
    async function withRegistry(carried: string[]): Promise<number> {
        registry = await startRegistry(carried);
        return registry.port;
    }

    beforeEach(() => {
        box = new ScriptSandbox();
        box.plant("k3s-images.txt", SYSTEM_IMAGES.join("\n") + "\n");
    });
    afterEach(() => {
        if (registry?.child.pid && registry.child.exitCode === null) registry.child.kill("SIGTERM");
        registry = undefined;
        box.cleanup();
    });

    it("writes registries.yaml before k3s first starts, once every system image of the version is on the mirror", async () => {
        const port = await withRegistry(["rancher/mirrored-pause:3.6", "rancher/mirrored-coredns-coredns:1.12.3", "rancher/mirrored-library-traefik:3.3.6"]);
        const steps = mainlandSteps(port);
        const run = box.run(steps.install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(box.calls().filter((c) => !/public-address|address replace|daemon-reload/.test(c)).slice(0, 3), [
            // The list of the pinned release's system images, from the China mirror (+ written as -).
            "curl https://rancher-mirror.rancher.cn/k3s/v1.33.6-k3s1/k3s-images.txt",
            "curl https://rancher-mirror.rancher.cn/k3s/k3s-install.sh",
            "installer role=server version=v1.33.6+k3s1 mirror=cn skip-start=true",
        ]);
        assert.equal(run.stdout.split("\n")[0], `k3s-multicloud [sh-server] registry mirrors: every system image of k3s v1.33.6+k3s1 found on http://127.0.0.1:${port}/v2/rancher`);
        assert.equal(
            box.read("etc/rancher/k3s/registries.yaml"),
            [
                "# Rendered by k3s-multicloud: the k3s system images (docker.io/rancher/*) are pulled through these mirrors on this mainland China node.",
                "mirrors:",
                "  docker.io:",
                "    endpoint:",
                `      - "http://127.0.0.1:${port}/v2/rancher"`,
                "    rewrite:",
                '      "^rancher/(.*)$": "$1"',
                '      "^(?:[^r]|r[^a]|ra[^n]|ran[^c]|ranc[^h]|ranch[^e]|ranche[^r]|rancher[^/]).*$": "k3s-multicloud/NOT-A-RANCHER-IMAGE"',
                "",
            ].join("\n"),
        );
    });

    it("stops a first install in words when the mirror lacks a system image, before anything is installed", async () => {
        const port = await withRegistry(["rancher/mirrored-pause:3.6", "rancher/mirrored-coredns-coredns:1.12.3"]);
        const run = box.run(mainlandSteps(port).install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            `k3s-multicloud [sh-server] ERROR: the registry mirrors cannot serve k3s v1.33.6+k3s1's system images (rancher/mirrored-library-traefik:3.3.6 not found on http://127.0.0.1:${port}/v2/rancher). docker.io is not reachable from mainland China, so this node would be Ready with pause, coredns and the other system pods stuck in ImagePullBackOff. Fix: list a mirror that has them in the cluster option chinaRegistryMirrors (or set installMirror: github where docker.io is reachable), then run 'pulumi up' again.\n`,
        );
        assert.deepEqual(box.calls(), ["curl https://rancher-mirror.rancher.cn/k3s/v1.33.6-k3s1/k3s-images.txt"]);
        assert.equal(box.exists("etc/rancher/k3s/registries.yaml"), false);
    });

    it("names a docker.io image outside rancher/ as missing: the mirror is never asked for it, and docker.io is out of reach", async () => {
        box.plant("k3s-images.txt", [...SYSTEM_IMAGES, "docker.io/library/busybox:1.36"].join("\n") + "\n");
        const port = await withRegistry(["rancher/mirrored-pause:3.6", "rancher/mirrored-coredns-coredns:1.12.3", "rancher/mirrored-library-traefik:3.3.6", "library/busybox:1.36"]);
        const run = box.run(mainlandSteps(port).install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 1);
        assert.match(run.stderr, new RegExp(`system images \\(library/busybox:1\\.36 not found on http://127\\.0\\.0\\.1:${port}/v2/rancher\\)\\.`));
    });

    it("does not ask for the images of a disabled component", async () => {
        const port = await withRegistry(["rancher/mirrored-pause:3.6", "rancher/mirrored-coredns-coredns:1.12.3"]);
        const run = box.run(mainlandSteps(port, { disable: ["traefik"] }).install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 0, run.stderr);
    });

    it("disabled CoreDNS and Traefik are not asked for either (their images are mirrored-coredns-coredns and mirrored-library-traefik)", async () => {
        const port = await withRegistry(["rancher/mirrored-pause:3.6"]);
        const run = box.run(mainlandSteps(port, { disable: ["coredns", "traefik"] }).install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /registry mirrors: every system image of k3s v1\.33\.6\+k3s1 found on/);
    });

    it("on a node that already runs k3s: warns, writes the file for the next restart, restarts nothing", async () => {
        const full = await withRegistry(["rancher/mirrored-pause:3.6", "rancher/mirrored-coredns-coredns:1.12.3", "rancher/mirrored-library-traefik:3.3.6"]);
        // Installed as a node outside the mainland lists would be: no registries.yaml.
        const before = renderNodeSteps({ ...mainlandInput(), registries: undefined });
        assert.equal(box.run(before.install, { stdin: `${TOKEN}\n` }).status, 0);
        registry!.child.kill("SIGTERM");
        const port = await withRegistry(["rancher/mirrored-pause:3.6"]);
        assert.notEqual(port, full);
        box.clearCalls();
        const run = box.run(mainlandSteps(port).install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(
            run.stdout,
            [
                `k3s-multicloud [sh-server] WARNING: the registry mirrors cannot serve k3s v1.33.6+k3s1's system images (rancher/mirrored-coredns-coredns:1.12.3 rancher/mirrored-library-traefik:3.3.6 not found on http://127.0.0.1:${port}/v2/rancher); this node already runs k3s, so it keeps the images it has`,
                "k3s-multicloud [sh-server] registries.yaml changed: k3s uses it from its next restart",
                "k3s-multicloud [sh-server] k3s v1.33.6+k3s1, config and token unchanged, node Ready: nothing to do",
                `# ca-hash ${/^K10([0-9a-f]{64})::/.exec(box.read("var/lib/rancher/k3s/server/token"))![1]}`,
                "",
            ].join("\n"),
        );
        assert.deepEqual(box.calls().filter((c) => c.startsWith("systemctl")), [], "a library upgrade restarts nothing");
        assert.ok(box.exists("etc/rancher/k3s/registries.yaml"));

        // The node leaves the China mirror (installMirror: github): the file this project wrote goes.
        const away = box.run(before.install, { stdin: `${TOKEN}\n` });
        assert.equal(away.status, 0, away.stderr);
        assert.match(away.stdout, /^k3s-multicloud \[sh-server\] removed the registries\.yaml this project wrote: this node no longer uses the China mirrors\n/);
        assert.equal(box.exists("etc/rancher/k3s/registries.yaml"), false);
    });

    function mainlandInput(): NodeStepsInput {
        return {
            config: { role: "server", nodeName: "sh-server", privateIp: "172.17.61.146", publicIp: "47.100.1.10", options: {} },
            version: "v1.33.6+k3s1",
            mirror: "cn",
            sudo: false,
            readyTimeoutSeconds: 5,
        };
    }
});
