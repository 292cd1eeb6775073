import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A real Kubernetes API server (kube-apiserver, built by engine/build.sh from the k8s.io/kubernetes module) on kine
 * with SQLite - the datastore k3s itself puts in front of SQLite - inside a network namespace, listening on
 * 127.0.0.1:6443 there as k3s does on a server. No controllers run (no kube-controller-manager): objects are stored
 * and authorised for real, but nothing reconciles them. Authentication by client certificates signed by the client CA
 * given (k3s' `server/tls/client-ca.crt`), authorisation by RBAC with the API server's bootstrap roles
 * (`cluster-admin` among them).
 */
export class KubernetesApi {
    private readonly processes: ChildProcess[] = [];
    private log = "";

    constructor(
        /** engine/build.sh's tools/: kube-apiserver, kine, kubectl. */
        readonly tools: string,
        /** A directory of the caller's for certificates, the database and logs. */
        readonly dir: string,
        /** The network namespace to serve in (the caller's; it must have `lo` up). */
        readonly netns: string,
    ) {}

    get kubectl(): string {
        return join(this.tools, "kubectl");
    }

    /** The serving CA's certificate (PEM), for a kubeconfig's certificate-authority-data. */
    get servingCa(): string {
        return readFileSync(join(this.dir, "serving-ca.crt"), "utf8");
    }

    /** Starts kine and the API server and waits until /readyz is ok (the RBAC bootstrap roles exist by then). */
    async start(clientCa: { readonly cert: string; readonly key: string }): Promise<void> {
        mkdirSync(this.dir, { recursive: true });
        const file = (name: string) => join(this.dir, name);
        writeFileSync(file("client-ca.crt"), clientCa.cert);
        writeFileSync(file("client-ca.key"), clientCa.key, { mode: 0o600 });
        const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("serving-ca.key"));
        openssl("req", "-x509", "-new", "-key", file("serving-ca.key"), "-subj", "/CN=k3s-server-ca", "-days", "30", "-out", file("serving-ca.crt"));
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("serving.key"));
        openssl("req", "-new", "-key", file("serving.key"), "-subj", "/CN=kube-apiserver", "-out", file("serving.csr"));
        writeFileSync(file("serving.ext"), "subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kubernetes, IP:10.43.0.1\nextendedKeyUsage = serverAuth\n");
        openssl("x509", "-req", "-in", file("serving.csr"), "-CA", file("serving-ca.crt"), "-CAkey", file("serving-ca.key"), "-set_serial", "1", "-days", "30", "-extfile", file("serving.ext"), "-out", file("serving.crt"));
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("service-account.key"));
        openssl("ec", "-in", file("service-account.key"), "-pubout", "-out", file("service-account.pub"));

        this.run("kine", [join(this.tools, "kine"), "--listen-address", "127.0.0.1:2379", "--endpoint", `sqlite://${file("state.db")}`, "--metrics-bind-address", "0"]);
        this.run("kube-apiserver", [
            join(this.tools, "kube-apiserver"),
            "--etcd-servers=http://127.0.0.1:2379",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--secure-port=6443",
            `--tls-cert-file=${file("serving.crt")}`,
            `--tls-private-key-file=${file("serving.key")}`,
            `--client-ca-file=${file("client-ca.crt")}`,
            "--authorization-mode=RBAC",
            "--anonymous-auth=false",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            `--service-account-key-file=${file("service-account.pub")}`,
            `--service-account-signing-key-file=${file("service-account.key")}`,
            "--service-cluster-ip-range=10.43.0.0/16",
            "--profiling=false",
        ]);
        // An admin credential as k3s writes one into k3s.yaml (CN system:admin, O system:masters), for the wait.
        const admin = this.kubeconfigFor("/O=system:masters/CN=system:admin", "admin");
        writeFileSync(file("admin.yaml"), admin, { mode: 0o600 });
        const deadline = Date.now() + 120_000;
        while (Date.now() < deadline) {
            if (this.processes.some((p) => p.exitCode !== null)) throw new Error(`the API server or kine exited:\n${this.log.slice(-3000)}`);
            const ready = this.kubectlRun(file("admin.yaml"), ["get", "--raw", "/readyz"]);
            if (ready.status === 0 && ready.stdout.trim() === "ok") return;
            await new Promise((done) => setTimeout(done, 500));
        }
        throw new Error(`the API server was not ready within 120 s:\n${this.log.slice(-3000)}`);
    }

    /** A kubeconfig for a client certificate minted now for `subject` (e.g. "/CN=alice"), as k3s.yaml is laid out. */
    kubeconfigFor(subject: string, name: string): string {
        const file = (f: string) => join(this.dir, f);
        const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file(`${name}.key`));
        openssl("req", "-new", "-key", file(`${name}.key`), "-subj", subject, "-out", file(`${name}.csr`));
        writeFileSync(file(`${name}.ext`), "extendedKeyUsage = clientAuth\n");
        openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("client-ca.crt"), "-CAkey", file("client-ca.key"), "-set_serial", String(Date.now()), "-days", "30", "-extfile", file(`${name}.ext`), "-out", file(`${name}.crt`));
        const b64 = (f: string) => Buffer.from(readFileSync(file(f))).toString("base64");
        return [
            "apiVersion: v1",
            "clusters:",
            "- cluster:",
            `    certificate-authority-data: ${b64("serving-ca.crt")}`,
            "    server: https://127.0.0.1:6443",
            "  name: default",
            "contexts:",
            "- context:",
            "    cluster: default",
            "    user: default",
            "  name: default",
            "current-context: default",
            "kind: Config",
            "preferences: {}",
            "users:",
            "- name: default",
            "  user:",
            `    client-certificate-data: ${b64(`${name}.crt`)}`,
            `    client-key-data: ${b64(`${name}.key`)}`,
            "",
        ].join("\n");
    }

    /** kubectl against this API server with the kubeconfig file given, inside its network namespace. */
    kubectlRun(kubeconfig: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
        const result = spawnSync("ip", ["netns", "exec", this.netns, this.kubectl, "--kubeconfig", kubeconfig, ...args], { encoding: "utf8", timeout: 30_000 });
        return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
    }

    /** Stops the API server and kine by their PIDs. */
    async stop(): Promise<void> {
        for (const child of [...this.processes].reverse()) {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill("SIGTERM");
                await new Promise((done) => child.once("exit", done));
            }
        }
    }

    private run(name: string, argv: readonly string[]): void {
        const child = spawn("ip", ["netns", "exec", this.netns, ...argv], { cwd: this.dir, stdio: ["ignore", "ignore", "pipe"] });
        child.stderr!.on("data", (chunk) => {
            this.log = (this.log + `[${name}] ${String(chunk)}`).slice(-20_000);
        });
        this.processes.push(child);
    }
}
