import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { DEFAULT_CHINA_REGISTRY_MIRRORS, NOT_MIRRORED, renderRegistries } from "../../components/k3s/registries";

/**
 * What a mainland node asks the China mirror for, judged by Go's regexp engine (the one containerd runs) through
 * tests/containerd/mirrorRequests.go, which follows k3s' endpoint normalisation and its containerd fork's rewrite
 * loop (sources cited there). The rendered registries.yaml is parsed as YAML, as k3s reads it.
 */
function requests(registriesYaml: string, images: string[], reverse: boolean): Map<string, string[]> {
    const docker = parse(registriesYaml).mirrors["docker.io"] as { endpoint: string[]; rewrite: Record<string, string> };
    const rewrites = Object.entries(docker.rewrite);
    const run = spawnSync("go", ["run", join(__dirname, "../containerd/mirrorRequests.go")], {
        input: JSON.stringify({ endpoints: docker.endpoint, rewrites: reverse ? rewrites.reverse() : rewrites, images }),
        encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    return new Map(run.stdout.trim().split("\n").map((line) => {
        const [image, ...urls] = line.split("\t");
        return [image, urls];
    }));
}

describe("China mirror scope: only k3s' own rancher/ images can come from the mirror (Go's regexp, containerd's request paths)", function () {
    this.timeout(120_000);
    const yaml = renderRegistries(["https://registry.cn-hangzhou.aliyuncs.com", "https://mirror.example.cn:8443/proxy"]);

    it("renders the endpoint inside the mirror's rancher/ namespace and the two rewrites", () => {
        assert.equal(
            yaml,
            [
                "# Rendered by k3s-multicloud: the k3s system images (docker.io/rancher/*) are pulled through these mirrors on this mainland China node.",
                "mirrors:",
                "  docker.io:",
                "    endpoint:",
                '      - "https://registry.cn-hangzhou.aliyuncs.com/v2/rancher"',
                '      - "https://mirror.example.cn:8443/proxy/rancher"',
                "    rewrite:",
                '      "^rancher/(.*)$": "$1"',
                '      "^(?:[^r]|r[^a]|ra[^n]|ran[^c]|ranc[^h]|ranch[^e]|ranche[^r]|rancher[^/]).*$": "k3s-multicloud/NOT-A-RANCHER-IMAGE"',
                "",
            ].join("\n"),
        );
    });

    const images = [
        "rancher/mirrored-pause:3.6",
        "rancher/mirrored-coredns-coredns:1.12.3",
        "library/nginx:1.27",
        "ranchers/miner:1",
        "rancherx/y:1",
        "rancher-labs/z:1",
        "r/a:1",
        "ran/b:1",
        "evil/rancher/c:1",
    ];

    for (const reverse of [false, true]) {
        it(`asks the mirrors for rancher/* by name and for anything else only by a name no registry holds (rewrites tried ${reverse ? "in reverse" : "in order"})`, () => {
            const seen = requests(yaml, images, reverse);
            assert.deepEqual(seen.get("rancher/mirrored-pause:3.6"), [
                "https://registry.cn-hangzhou.aliyuncs.com/v2/rancher/mirrored-pause/manifests/3.6",
                "https://mirror.example.cn:8443/proxy/rancher/mirrored-pause/manifests/3.6",
                "https://registry-1.docker.io/v2/rancher/mirrored-pause/manifests/3.6",
            ]);
            assert.deepEqual(seen.get("library/nginx:1.27"), [
                `https://registry.cn-hangzhou.aliyuncs.com/v2/rancher/${NOT_MIRRORED}/manifests/1.27`,
                `https://mirror.example.cn:8443/proxy/rancher/${NOT_MIRRORED}/manifests/1.27`,
                "https://registry-1.docker.io/v2/library/nginx/manifests/1.27",
            ]);
            for (const image of images.filter((i) => !i.startsWith("rancher/"))) {
                const [name, tag] = image.split(":");
                assert.deepEqual(
                    seen.get(image),
                    [
                        `https://registry.cn-hangzhou.aliyuncs.com/v2/rancher/${NOT_MIRRORED}/manifests/${tag}`,
                        `https://mirror.example.cn:8443/proxy/rancher/${NOT_MIRRORED}/manifests/${tag}`,
                        `https://registry-1.docker.io/v2/${name}/manifests/${tag}`,
                    ],
                    image,
                );
            }
        });
    }

    it("docs/nodes.md shows the file a mainland node gets with the default mirror, as rendered", () => {
        const doc = readFileSync(join(__dirname, "..", "..", "docs", "nodes.md"), "utf8");
        const shown = [...doc.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]).find((text) => text.includes("mirrors:"));
        assert.equal(shown, renderRegistries(DEFAULT_CHINA_REGISTRY_MIRRORS));
    });

    it("the name other images are asked for is not a repository name any registry can hold (distribution spec grammar)", () => {
        // opencontainers/distribution-spec: <name> is [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
        const repositoryName = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
        assert.equal(repositoryName.test(`rancher/${NOT_MIRRORED}`), false);
        assert.equal(repositoryName.test("rancher/mirrored-pause"), true);
    });
});
