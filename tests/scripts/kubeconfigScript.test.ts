import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { join } from "node:path";
import { toolkitCall } from "../../components/toolkit/contract";
import { K3S_YAML } from "../harness/fixtures";
import { STANDINS_BIN, ScriptSandbox } from "../harness/scriptSandbox";

const DAY = 24 * 60 * 60 * 1000;

/** A client CA like the one k3s creates (EC P-256, self-signed, 10 years), written where k3s keeps it. */
function plantClientCa(box: ScriptSandbox, days = 3650): { cert: string; key: string } {
    const dir = join(box.root, "var/lib/rancher/k3s/server/tls");
    box.plant("var/lib/rancher/k3s/server/tls/.keep", "");
    execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "client-ca.key")]);
    execFileSync("openssl", ["req", "-x509", "-new", "-key", join(dir, "client-ca.key"), "-subj", "/CN=k3s-client-ca@1764417600", "-days", String(days), "-out", join(dir, "client-ca.crt")]);
    return { cert: box.read("var/lib/rancher/k3s/server/tls/client-ca.crt"), key: box.read("var/lib/rancher/k3s/server/tls/client-ca.key") };
}

function field(kubeconfig: string, name: string): string {
    return Buffer.from(new RegExp(`^ *${name}: (\\S+)$`, "m").exec(kubeconfig)![1], "base64").toString("utf8");
}

describe("kubeconfig verb: an admin client certificate that lasts as long as the cluster's CA (real bash and openssl)", () => {
    let box: ScriptSandbox;
    const read = () => box.run(toolkitCall("kubeconfig", { "node-name": "sh-server" }, false));
    beforeEach(() => {
        box = new ScriptSandbox();
        box.plant("etc/rancher/k3s/k3s.yaml", K3S_YAML);
    });
    afterEach(() => box.cleanup());

    it("mints a certificate for system:admin in system:masters, signed by the client CA, ending a day before it", () => {
        const ca = plantClientCa(box);
        const run = read();
        assert.equal(run.status, 0, run.stderr);
        // Everything but the two credential lines is k3s.yaml as k3s wrote it.
        const withoutCredentials = (text: string) => text.replace(/^( *client-(certificate|key)-data:).*$/gm, "$1 ...");
        assert.equal(withoutCredentials(run.stdout), withoutCredentials(K3S_YAML));
        const cert = new X509Certificate(field(run.stdout, "client-certificate-data"));
        assert.equal(cert.subject, "O=system:masters\nCN=system:admin");
        assert.equal(cert.issuer, "CN=k3s-client-ca@1764417600");
        assert.ok(cert.verify(new X509Certificate(ca.cert).publicKey), "signed by the client CA");
        assert.equal(cert.keyUsage?.includes("1.3.6.1.5.5.7.3.2"), true, "extended key usage: client authentication");
        const [caEnd, certEnd] = [Date.parse(new X509Certificate(ca.cert).validTo), Date.parse(cert.validTo)];
        // Whole days from the moment the verb looked at the clock, minus one; openssl starts counting a moment later.
        assert.ok(caEnd - certEnd > DAY - 120_000 && caEnd - certEnd < 2 * DAY, `ends ${(caEnd - certEnd) / DAY} days before the CA`);
        assert.ok(certEnd - Date.now() > 3647 * DAY, "about ten years with k3s' CA, where k3s' own certificate lasts one");
        // The key printed is the certificate's own.
        const key = createPrivateKey(field(run.stdout, "client-key-data"));
        assert.equal(createPublicKey(key).export({ format: "der", type: "spki" }).toString("hex"), cert.publicKey.export({ format: "der", type: "spki" }).toString("hex"));
        assert.match(run.stderr, /^k3s-multicloud \[sh-server\] kubeconfig: a new admin client certificate, valid until [A-Z][a-z]{2} +\d+ [\d:]+ \d{4} GMT\n$/);
        // A second read mints another certificate: each run of the step renews it.
        assert.notEqual(field(read().stdout, "client-certificate-data"), field(run.stdout, "client-certificate-data"));
    });

    it("puts no key material in any process's arguments, where every local user could read it (/proc/*/cmdline)", async () => {
        plantClientCa(box);
        // Every program the verb could start pauses before it execs the real one, so a poller sees each argv for sure.
        const slow = join(box.root, "slow-bin");
        mkdirSync(slow);
        writeFileSync(join(slow, ".pause"), '#!/bin/bash\n/usr/bin/sleep 0.25\nPATH=${PATH#*:} exec "${0##*/}" "$@"\n');
        chmodSync(join(slow, ".pause"), 0o755);
        const keep = new Set(["bash", "sh", "env", "sleep", "unshare", "mount"]);
        for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", box.extraBin, STANDINS_BIN]) {
            for (const name of readdirSync(dir)) {
                try {
                    if (!keep.has(name)) symlinkSync(join(slow, ".pause"), join(slow, name));
                } catch {
                    // a name already shimmed from an earlier directory
                }
            }
        }
        // The poller runs as nobody: an unprivileged local user on the server.
        const seen = join(box.root, "seen");
        mkdirSync(seen, { mode: 0o777 });
        chmodSync(seen, 0o777);
        const poller: ChildProcess = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c",
            `while :; do cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' >>"$0/cmdlines"; /usr/bin/sleep 0.02; done`, seen], { stdio: "ignore" });
        try {
            const run = await box.runAsync(toolkitCall("kubeconfig", { "node-name": "sh-server" }, false), { env: { PATH: `${slow}:${box.env().PATH}` } });
            assert.equal(run.status, 0, run.stderr);
            const key = /^ *client-key-data: (\S+)$/m.exec(run.stdout)![1];
            const pemBody = field(run.stdout, "client-key-data").split("\n").filter((l) => l && !l.startsWith("-----")).join("");
            const argvs = box.read("seen/cmdlines").split("\n");
            // The poller did see the verb's programs (the CA signing), so it was looking at the right time.
            assert.ok(argvs.some((arg) => arg.endsWith("/client-ca.key")), "the poller saw openssl sign with the client CA");
            const leaked = argvs.filter((arg) => arg.includes(key.slice(0, 40)) || arg.includes(pemBody.slice(0, 40)));
            assert.deepEqual(leaked.map((arg) => `${arg.slice(0, 30)}...`), []);
        } finally {
            poller.kill();
        }
    });

    it("refuses in words when the CA itself is about to end", () => {
        plantClientCa(box, 20);
        const run = read();
        assert.equal(run.status, 1);
        assert.match(run.stderr, /client CA \(.*client-ca\.crt\) ends in less than 31 days: rotate the k3s CA certificates \('k3s certificate rotate-ca'/);
        assert.equal(run.stdout, "");
    });

    it("without the client CA, prints k3s.yaml as it is and says that its certificate will expire", () => {
        const run = read();
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stdout, K3S_YAML);
        assert.equal(
            run.stderr,
            `k3s-multicloud [sh-server] WARNING: no openssl or no client CA in ${box.root}/var/lib/rancher/k3s/server/tls: the kubeconfig keeps k3s' own client certificate, which expires a year after it was issued.\n`,
        );
    });

    it("fails in words when k3s has not written its kubeconfig", () => {
        box.run('rm "$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml"');
        const run = read();
        assert.equal(run.status, 1);
        assert.match(run.stderr, /k3s\.yaml is missing or empty: k3s has not written its admin kubeconfig/);
    });
});
