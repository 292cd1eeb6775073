import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toolkitCall } from "../../components/toolkit/contract";
import { locateEngine } from "../../lab/engine/engine";
import { KubernetesApi } from "../../lab/kubernetes/kubernetesApi";
import { ScriptSandbox } from "../harness/scriptSandbox";

/**
 * The kubeconfig verb against a real Kubernetes API server (kube-apiserver v1.33 on kine/SQLite, built by
 * engine/build.sh), in a network namespace where it listens on 127.0.0.1:6443 as k3s does. The verb runs with the
 * sandbox's k3s.yaml (k3s' own system:masters credential) and a `k3s` whose `kubectl` is the real one. Without a built
 * engine the suite skips and says why; .ci/run sets K3SMC_REQUIRE_ENGINE, so there it fails instead.
 */
const located = locateEngine();
const required = process.env.K3SMC_REQUIRE_ENGINE === "1";

function clientCertificateOf(kubeconfig: string): X509Certificate {
    return new X509Certificate(Buffer.from(/^ *client-certificate-data: (\S+)$/m.exec(kubeconfig)![1], "base64"));
}

describe("an admin credential that a rotation revokes (the kubeconfig verb against a real Kubernetes API)", function () {
    this.timeout(300_000);
    const netns = `k3smc-api-${process.pid}-${Math.random().toString(16).slice(2, 6)}`;
    let box: ScriptSandbox;
    let api: KubernetesApi;
    let madeNetns = false;

    before(async function () {
        if ("missing" in located) {
            if (required) throw new Error(`K3SMC_REQUIRE_ENGINE is set but the engine is not built: ${located.missing}`);
            console.log(`      skipped: no engine built (${located.missing})`);
            this.skip();
        }
        execFileSync("ip", ["netns", "add", netns]);
        madeNetns = true;
        execFileSync("ip", ["-n", netns, "link", "set", "lo", "up"]);
        box = new ScriptSandbox();
        // The cluster's client CA where k3s keeps it, as k3s makes it (EC P-256, ten years).
        const tls = join(box.root, "var/lib/rancher/k3s/server/tls");
        box.plant("var/lib/rancher/k3s/server/tls/.keep", "");
        execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(tls, "client-ca.key")]);
        execFileSync("openssl", ["req", "-x509", "-new", "-key", join(tls, "client-ca.key"), "-subj", "/CN=k3s-client-ca@1764417600", "-days", "3650", "-out", join(tls, "client-ca.crt")]);
        api = new KubernetesApi(join(located.dir, "tools"), join(box.root, "api"), netns);
        await api.start({ cert: box.read("var/lib/rancher/k3s/server/tls/client-ca.crt"), key: box.read("var/lib/rancher/k3s/server/tls/client-ca.key") });
        // k3s' own admin kubeconfig, and a k3s binary whose kubectl is the real one.
        box.plant("etc/rancher/k3s/k3s.yaml", api.kubeconfigFor("/O=system:masters/CN=system:admin", "k3s-admin"));
        const k3s = box.plant("usr/local/bin/k3s", `#!/bin/bash\n[ "$1" = kubectl ] || exit 2\nshift\nexec ${api.kubectl} "$@"\n`);
        chmodSync(k3s, 0o755);
    });

    after(async () => {
        await api?.stop();
        if (madeNetns) spawnSync("ip", ["netns", "delete", netns]);
        box?.cleanup();
    });

    /** Runs the verb as the kubeconfig step does and keeps what it printed in a file, as a user of the stack would. */
    function mint(generation: number | undefined, file: string) {
        const run = box.run(toolkitCall("kubeconfig", { "node-name": "sh-server", "credential-generation": generation }, false), { netns });
        assert.equal(run.status, 0, run.stderr);
        writeFileSync(join(box.root, file), run.stdout, { mode: 0o600 });
        return { ...run, path: join(box.root, file) };
    }
    const admin = () => join(box.root, "etc/rancher/k3s/k3s.yaml");

    it("issues the credential to k3s-multicloud-admin-1, in no group, bound to cluster-admin alone", () => {
        const first = mint(1, "kubeconfig-1");
        assert.equal(clientCertificateOf(first.stdout).subject, "CN=k3s-multicloud-admin-1");
        assert.match(first.stderr, /^k3s-multicloud \[sh-server\] kubeconfig: cluster-admin is bound to k3s-multicloud-admin-1 alone; earlier credentials of this project are revoked\n/);
        const binding = api.kubectlRun(admin(), ["get", "clusterrolebinding", "k3s-multicloud-admin", "-o", "jsonpath={.roleRef.name} {.subjects[*].kind}/{.subjects[*].name}"]);
        assert.equal(binding.stdout, "cluster-admin User/k3s-multicloud-admin-1");
        const whoami = api.kubectlRun(first.path, ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"]);
        assert.equal(whoami.stdout, 'k3s-multicloud-admin-1 ["system:authenticated"]');
        const created = api.kubectlRun(first.path, ["create", "namespace", "made-by-generation-1"]);
        assert.equal(created.status, 0, created.stderr);
    });

    it("raising the generation revokes the earlier credential at once; the new one acts", () => {
        const second = mint(2, "kubeconfig-2");
        const old = api.kubectlRun(join(box.root, "kubeconfig-1"), ["get", "namespaces"]);
        assert.equal(old.status, 1);
        assert.match(old.stderr, /Error from server \(Forbidden\): namespaces is forbidden: User "k3s-multicloud-admin-1" cannot list resource "namespaces" in API group "" at the cluster scope/);
        const current = api.kubectlRun(second.path, ["get", "namespace", "made-by-generation-1", "-o", "jsonpath={.metadata.name}"]);
        assert.equal(current.stdout, "made-by-generation-1", current.stderr);
    });

    it("shows why 0.3.0's credential is not revocable: a system:masters certificate acts with no binding at all", () => {
        const legacy = mint(undefined, "kubeconfig-0.3.0");
        assert.equal(clientCertificateOf(legacy.stdout).subject, "O=system:masters\nCN=system:admin");
        assert.equal(api.kubectlRun(admin(), ["delete", "clusterrolebinding", "k3s-multicloud-admin"]).status, 0);
        const still = api.kubectlRun(legacy.path, ["get", "namespace", "made-by-generation-1", "-o", "jsonpath={.metadata.name}"]);
        assert.equal(still.stdout, "made-by-generation-1", "system:masters bypasses RBAC: only a new client CA ends it");
    });
});
