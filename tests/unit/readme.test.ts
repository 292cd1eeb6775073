import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const DOCS = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"));

/** GitHub's anchor for a heading: lower case, punctuation dropped (backticks too), spaces to hyphens. */
function anchorOf(heading: string): string {
    return heading
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, "")
        .replace(/ /g, "-");
}

/** The headings of a Markdown file, outside code fences. */
function headingsOf(text: string): string[] {
    let fence = false;
    const headings: string[] = [];
    for (const line of text.split("\n")) {
        if (line.trim().startsWith("```")) fence = !fence;
        const m = fence ? null : /^#{1,4} (.+)$/.exec(line);
        if (m) headings.push(m[1]);
    }
    return headings;
}

/** The text between `<!-- plan prod: ... -->` and `<!-- /plan -->` markers, in order. */
function planExcerpts(text: string): string[] {
    return [...text.matchAll(/<!-- plan prod: [^>]*-->\n([\s\S]*?)\n<!-- \/plan -->/g)].map((m) => m[1]);
}

describe("README: a front door whose every claim leads somewhere", function () {
    this.timeout(120_000);

    it("stays under 250 lines", () => {
        assert.ok(README.split("\n").length < 250, `README.md has ${README.split("\n").length} lines`);
    });

    it("its plan excerpt and mesh picture are what `npm run plan -- prod` prints today", () => {
        const run = spawnSync(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "stacks", "plan", "cli.ts"), "prod"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(run.status, 0, run.stderr);
        const section = (name: string) => {
            const start = run.stdout.indexOf(`\n## ${name}\n`);
            const end = run.stdout.indexOf("\n## ", start + 1);
            return run.stdout.slice(start, end).split("\n").slice(3).join("\n").replace(/\n+$/, "");
        };
        assert.deepEqual(planExcerpts(README), [section("WireGuard mesh"), `${section("Nodes")}\n\n${section("Access")}`]);
        assert.match(planExcerpts(README)[0], /^```mermaid\nflowchart LR\n/);
    });

    it("every link in README.md and docs/ names a file and a heading that exist", () => {
        const broken: string[] = [];
        for (const file of ["README.md", ...DOCS.map((d) => `docs/${d}`)]) {
            const text = readFileSync(join(ROOT, file), "utf8");
            for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                if (/^https?:/.test(target)) continue;
                const [path, anchor] = target.split("#");
                const resolved = path === "" ? join(ROOT, file) : join(ROOT, file.includes("/") ? "docs" : "", path);
                if (!existsSync(resolved)) {
                    broken.push(`${file}: ${target} (no such file)`);
                } else if (anchor !== undefined && !headingsOf(readFileSync(resolved, "utf8")).map(anchorOf).includes(anchor)) {
                    broken.push(`${file}: ${target} (no such heading)`);
                }
            }
        }
        assert.deepEqual(broken, []);
    });

    it("each document starts with the question it answers", () => {
        for (const doc of DOCS) {
            const lines = readFileSync(join(ROOT, "docs", doc), "utf8").split("\n");
            assert.match(lines[0], /^# \S/, doc);
            assert.match(lines[2], /^\*.+\?\*$/, `${doc}: the line after the title is the question it answers`);
        }
    });

    it("every section that code, messages and tests point users at exists (`docs/<file>.md, \"<heading>\"`)", () => {
        const files = execFileSync("git", ["ls-files", "components", "stacks", "lab", "bench", "engine", "tests", "docs", "README.md"], { cwd: ROOT, encoding: "utf8" })
            .split("\n")
            .filter((f) => /\.(ts|sh|md|json)$/.test(f) && existsSync(join(ROOT, f)));
        const references = new Set<string>();
        for (const file of files) {
            for (const m of readFileSync(join(ROOT, file), "utf8").matchAll(/docs\/([a-z-]+\.md),? \\?"([^"\\]+)\\?"/g)) references.add(`${m[1]}\t${m[2]}`);
        }
        assert.ok(references.size >= 10, `only ${references.size} references found: the pattern no longer matches how they are written`);
        const missing = [...references].filter((ref) => {
            const [doc, title] = ref.split("\t");
            const path = join(ROOT, "docs", doc);
            const plain = (h: string) => h.replace(/`/g, "");
            return !existsSync(path) || !headingsOf(readFileSync(path, "utf8")).some((h) => plain(h).startsWith(plain(title)));
        });
        assert.deepEqual(missing, []);
        // README no longer holds sections, so nothing may send a user to one.
        const stale = files.filter((f) => !f.startsWith("tests/unit/readme.test.ts") && /README,? \\?"[A-Z]/.test(readFileSync(join(ROOT, f), "utf8")));
        assert.deepEqual(stale, []);
    });
});
