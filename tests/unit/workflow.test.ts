import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const workflow = parse(readFileSync(join(__dirname, "..", "..", ".github", "workflows", "preview.yml"), "utf8"));

describe("PR preview workflow", () => {
    it("runs on pull requests with permission to comment", () => {
        assert.deepEqual(Object.keys(workflow.on), ["pull_request"]);
        assert.deepEqual(workflow.permissions, { contents: "read", "pull-requests": "write" });
    });

    it("runs npm ci, npm test and the plan of every stack, posted as one sticky comment", () => {
        const steps = workflow.jobs["test-and-plan"].steps as Array<Record<string, any>>;
        const names = steps.map((s) => s.name);
        assert.deepEqual(names, [
            "Check out",
            "Set up Node.js 20",
            "Install shellcheck, OpenSSH server, nftables, ufw and userspace WireGuard",
            "npm ci",
            "npm test",
            "Plans of the base branch",
            "Offline plan of every stack",
            "Keep the full plans",
            "Post the plan as one sticky comment",
        ]);
        assert.match(steps[2].run, / shellcheck openssh-server nftables ufw wireguard-go wireguard-tools openssl$/, "what the host-firewall and lab tests need, or they skip");
        assert.equal(steps[3].run, "npm ci");
        assert.match(steps[4].run, /npm test$/);
        assert.equal(steps[5].env.BASE_REF, "${{ github.base_ref }}", "the branch name reaches the script as data, not as script text");
        assert.match(steps[5].run, /npm run -s plan -- "\$stack" --json > "\$GITHUB_WORKSPACE\/base-plan\/\$\{stack\}\.json"/);
        assert.match(steps[6].run, /for file in stacks\/Pulumi\.\*\.yaml/);
        assert.match(steps[6].run, /npm run -s plan -- "\$stack" > "full-plan\/\$\{stack\}\.md"/);
        assert.match(steps[6].run, /npm run -s plan -- "\$stack" --pr --budget \$\(\(60000 \/ stacks\)\) "\$\{against\[@\]\}"/);
        assert.deepEqual(steps[7].with, { name: "offline-plan", path: "full-plan/" });
        assert.equal(steps[8].uses, "marocchino/sticky-pull-request-comment@773744901bac0e8cbb5a0dc842800d45e9b2b405");
        assert.deepEqual(steps[8].with, { header: "k3s-multicloud-plan", path: "plan.md" });
    });

    it("pins every action by a full commit id", () => {
        const uses = Object.values(workflow.jobs as Record<string, { steps: Array<{ uses?: string }> }>)
            .flatMap((job) => job.steps)
            .flatMap((step) => (step.uses ? [step.uses] : []));
        assert.equal(uses.length, 7);
        for (const use of uses) assert.match(use, /^[a-z-]+\/[a-z-]+@[0-9a-f]{40}$/, use);
    });

    it("gives the stack's secrets only to same-repository pull requests, through an environment with reviewers", () => {
        const job = workflow.jobs["pulumi-preview"];
        assert.equal(job.if, "github.event.pull_request.head.repo.full_name == github.repository");
        assert.equal(job.environment, "pulumi-preview");
        assert.deepEqual(Object.keys(workflow.jobs["test-and-plan"]).includes("env"), false, "the job that runs the tests holds no secret");
    });

    it("previews every stack with pulumi/actions v7 only when the cloud secrets exist, with a notice otherwise", () => {
        const job = workflow.jobs["pulumi-preview"];
        assert.deepEqual(job.strategy.matrix.stack, ["dev", "prod"]);
        const steps = job.steps as Array<Record<string, any>>;
        assert.equal(steps[0].id, "credentials");
        assert.match(steps[0].run, /::notice title=pulumi preview skipped::/);
        const preview = steps.find((s) => s.uses === "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d")!;
        assert.equal(preview.if, "steps.credentials.outputs.configured == 'true'");
        assert.equal(preview.with.command, "preview");
        assert.equal(preview.with["comment-on-pr"], true);
        assert.equal(preview.with["stack-name"], "${{ matrix.stack }}");
        for (const secret of ["PULUMI_CONFIG_PASSPHRASE", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "VULTR_API_KEY", "PULUMI_BACKEND_URL"]) {
            assert.equal(job.env[secret], `\${{ secrets.${secret} }}`);
        }
        for (const step of steps.slice(1)) assert.equal(step.if, "steps.credentials.outputs.configured == 'true'", step.name);
    });
});
