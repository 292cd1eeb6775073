import { locateEngine } from "./engine/engine";
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pinnableKey } from "../components/hosts/hostKeys";
import { HOST_STANDINS_BIN as STANDINS_BIN } from "./standins/paths";

/**
 * The lab's world: an "internet" (a bridge in a namespace of its own) with documentation-range public addresses,
 * and on it the machine running `pulumi` (the runner), three hosts the way each cloud delivers them, and a
 * stranger. Every namespace, process, user and file is named per run and removed by `teardown()`.
 *
 *   runner 203.0.113.10 ─┐
 *   stranger .66 ────────┤
 *   vultr .30 (on NIC) ──┼─ bridge ─┬─ swas router .20 ══ 1:1 NAT ══ swas 172.16.0.2
 *                        │          └─ home router .40 ══ forwards tcp/22, udp/51820, tcp/10250 ══ home 192.168.1.2
 */
export const LAB_ADDRESSES = {
    runner: "203.0.113.10",
    swasPublic: "203.0.113.20",
    swasPrivate: "172.16.0.2",
    vultr: "203.0.113.30",
    homePublic: "203.0.113.40",
    homePrivate: "192.168.1.2",
    stranger: "203.0.113.66",
} as const;

export type HostKind = "swas" | "vultr" | "home";

/** The public address of the n-th extra host (n from 1). */
export function extraAddress(n: number): string {
    return `203.0.113.${100 + n}`;
}

/** The lab's own stand-ins (systemd, the kernel's WireGuard, k3s and flannel), first on every host session's PATH. */
export const LAB_STANDINS_BIN = resolve(__dirname, "standins", "bin");

export interface CommandResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** One lab host: a network namespace and a mount namespace (held open by a sleeping process) that sshd and every session share. */
export interface LabHost {
    /** Which of the three host kinds it is; extra hosts (for bigger clusters) are Vultr-like. */
    readonly kind: HostKind;
    /** Its own name: the kind for the three, `extra-<n>` for extra hosts. */
    readonly name: string;
    readonly netns: string;
    /** K3SMC_ROOT of the toolkit on this host: where our steps write /etc/rancher/k3s, /var/lib/... */
    readonly root: string;
    /** The address the runner dials (through the NAT for swas and home). */
    readonly sshAddress: string;
    readonly hostKeyFile: string;
    holderPid: number;
}

const SESSION_PATH = `${LAB_STANDINS_BIN}:${STANDINS_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/**
 * Where the real Kubernetes API server the lab runs comes from: kube-apiserver, kine and kubectl, built from Go modules
 * by engine/build.sh (`npm run engine:build`).
 */
export function kubernetesTools(): string | { readonly missing: string } {
    const located = locateEngine();
    return "missing" in located ? { missing: `the lab runs a real Kubernetes API server, built by \`npm run engine:build\`: ${located.missing}` } : join(located.dir, "tools");
}

/** What this machine lacks for the lab (root, the programs it runs for real, the built API server), or undefined. */
export function labMissing(): string | undefined {
    if (process.getuid?.() !== 0) return "the lab needs root (network and mount namespaces, a user, an sshd per host)";
    const tools = ["wireguard-go", "wg", "nft", "ufw", "sshd", "openssl"].filter((tool) => spawnSync("bash", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status !== 0);
    if (tools.length > 0) return `the lab needs ${tools.join(", ")} (.ci/run installs them)`;
    const k8s = kubernetesTools();
    return typeof k8s === "string" ? undefined : k8s.missing;
}

export class LabWorld {
    readonly id = `${process.pid.toString(36)}${Math.random().toString(16).slice(2, 6)}`;
    readonly dir = mkdtempSync(join(tmpdir(), "k3smc-lab-"));
    /** The directory that stands for the Kubernetes API (leases, annotations), shared by the hosts' k3s stand-ins. */
    readonly api = join(this.dir, "api");
    /** The sudo user that logs in to the existing (home) host. */
    readonly homeUser = `k3smc-lab-${process.pid}`;
    readonly clientKey = join(this.dir, "client_key");
    readonly hosts: Record<HostKind, LabHost>;
    private readonly namespaces: string[] = [];
    private readonly processes: ChildProcess[] = [];
    private createdUser = false;
    private readonly sudoersFile = `/etc/sudoers.d/k3smc-lab-${process.pid}`;
    private tornDown = false;

    /** More Vultr-like hosts (public address on the NIC, root with the key, no ufw), for bigger clusters (the bench). */
    readonly extras: LabHost[];
    /** kube-apiserver, kine and kubectl (engine/build.sh), which the first server's k3s stand-in runs. */
    readonly k8sTools: string;

    constructor(extraHosts = 0) {
        const tools = kubernetesTools();
        if (typeof tools !== "string") throw new Error(tools.missing);
        this.k8sTools = tools;
        mkdirSync(this.api);
        chmodSync(this.dir, 0o755);
        keygen(this.clientKey);
        const host = (kind: HostKind, name: string, sshAddress: string): LabHost => {
            const root = join(this.dir, name);
            mkdirSync(join(root, "opt"), { recursive: true });
            writeFileSync(join(root, "calls.log"), "");
            const hostKeyFile = join(this.dir, `${name}_host_key`);
            keygen(hostKeyFile);
            return { kind, name, netns: this.ns(name), root, sshAddress, hostKeyFile, holderPid: 0 };
        };
        this.hosts = { swas: host("swas", "swas", LAB_ADDRESSES.swasPublic), vultr: host("vultr", "vultr", LAB_ADDRESSES.vultr), home: host("home", "home", LAB_ADDRESSES.homePublic) };
        this.extras = Array.from({ length: extraHosts }, (_, i) => host("vultr", `extra-${i + 1}`, extraAddress(i + 1)));
    }

    /** Makes a host's sshd use this host key (what cloud-init installs from the Vultr user-data), before build(). */
    useHostKey(kind: HostKind, privateKeyOpenssh: string): void {
        const file = this.hosts[kind].hostKeyFile;
        writeFileSync(file, privateKeyOpenssh, { mode: 0o600 });
        writeFileSync(`${file}.pub`, execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }));
    }

    ns(name: string): string {
        return `k3smc-lab-${this.id}-${name}`;
    }

    get runnerNs(): string {
        return this.ns("runner");
    }
    get strangerNs(): string {
        return this.ns("stranger");
    }

    /** A host's public host key as a pinned `hostKey` is written (type and key, no comment). */
    hostPublicKey(kind: HostKind): string {
        return publicKeyOf(this.hosts[kind].hostKeyFile);
    }

    clientPublicKey(): string {
        return publicKeyOf(this.clientKey);
    }

    /** Builds the network, the hosts' namespaces and their sshd. `swasRootPassword`: what the SWAS root login takes. */
    async build(swasRootPassword: string): Promise<void> {
        const inet = this.addNamespace("inet");
        ipIn(inet, "link", "add", "br0", "type", "bridge");
        ipIn(inet, "link", "set", "br0", "up");
        const onInternet = (name: string, address: string, device = "eth0"): string => {
            const ns = this.addNamespace(name);
            ipIn(inet, "link", "add", `p-${name}`, "type", "veth", "peer", "name", device, "netns", ns);
            ipIn(inet, "link", "set", `p-${name}`, "master", "br0", "up");
            ipIn(ns, "addr", "add", `${address}/24`, "dev", device);
            ipIn(ns, "link", "set", device, "up");
            return ns;
        };
        onInternet("runner", LAB_ADDRESSES.runner);
        onInternet("stranger", LAB_ADDRESSES.stranger);
        onInternet("vultr", LAB_ADDRESSES.vultr);
        for (const extra of this.extras) onInternet(extra.name, extra.sshAddress);
        const behindRouter = (name: string, router: string, lanPrefix: string, host: string): void => {
            const ns = this.addNamespace(name);
            ipIn(router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", ns);
            ipIn(router, "addr", "add", `${lanPrefix}.1/24`, "dev", "lan");
            ipIn(router, "link", "set", "lan", "up");
            ipIn(ns, "addr", "add", `${host}/24`, "dev", "eth0");
            ipIn(ns, "link", "set", "eth0", "up");
            ipIn(ns, "route", "add", "default", "via", `${lanPrefix}.1`);
            execFileSync("ip", ["netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        };
        // Alibaba's lightweight servers: the NIC has only the private address; the public one is a 1:1 NAT.
        const swasRouter = onInternet("swasrt", LAB_ADDRESSES.swasPublic, "wan");
        behindRouter("swas", swasRouter, "172.16.0", LAB_ADDRESSES.swasPrivate);
        // No hairpin: the host's own packets to its public address are not sent back to it (many NATs do not; k3s
        // #2963, #4096 - pods on such a server cannot reach the API k3s advertises at that address).
        nft(swasRouter, `table ip lab_nat {
            chain pre { type nat hook prerouting priority dstnat; ip daddr ${LAB_ADDRESSES.swasPublic} dnat to ${LAB_ADDRESSES.swasPrivate}; }
            chain post { type nat hook postrouting priority srcnat; ip saddr ${LAB_ADDRESSES.swasPrivate} snat to ${LAB_ADDRESSES.swasPublic}; }
            chain no_hairpin { type filter hook forward priority 0; iifname "lan" oifname "lan" drop; }
        }`);
        // A home router set up as the plan asks: forwards SSH, WireGuard and the kubelet to the box, masquerades the rest.
        const homeRouter = onInternet("homert", LAB_ADDRESSES.homePublic, "wan");
        behindRouter("home", homeRouter, "192.168.1", LAB_ADDRESSES.homePrivate);
        nft(homeRouter, `table ip lab_nat {
            chain pre {
                type nat hook prerouting priority dstnat;
                ip daddr ${LAB_ADDRESSES.homePublic} tcp dport 22 dnat to ${LAB_ADDRESSES.homePrivate}
                ip daddr ${LAB_ADDRESSES.homePublic} udp dport 51820 dnat to ${LAB_ADDRESSES.homePrivate}
                ip daddr ${LAB_ADDRESSES.homePublic} tcp dport 10250 dnat to ${LAB_ADDRESSES.homePrivate}
            }
            chain post { type nat hook postrouting priority srcnat; oifname "wan" ip saddr 192.168.1.0/24 masquerade; }
        }`);

        this.createHomeUser();
        // SWAS: root logs in with the generated password, which the host's own /etc/shadow carries: an overlay over
        // /etc whose upper layer holds only that file. Not a bind mount of the file: a bind mount on a file is
        // detached, in every mount namespace, as soon as anyone replaces /etc/shadow by renaming a new file over it -
        // which useradd, usermod and userdel do - so another test run creating its user on this machine silently
        // gave the SWAS host this machine's root password back ("Permission denied (password)").
        const etcUpper = join(this.dir, "swas-etc", "upper");
        mkdirSync(etcUpper, { recursive: true });
        mkdirSync(join(this.dir, "swas-etc", "work"));
        const hash = execFileSync("openssl", ["passwd", "-6", "-stdin"], { input: swasRootPassword, encoding: "utf8" }).trim();
        writeFileSync(join(etcUpper, "shadow"), readFileSync("/etc/shadow", "utf8").replace(/^root:[^:]*:/m, `root:${hash}:`), { mode: 0o640 });
        // Vultr: the image's ufw, enabled with default deny (SSH allowed), in the host's own copy of /etc/ufw.
        const ufwDir = join(this.dir, "vultr-ufw");
        execFileSync("cp", ["-a", "/etc/ufw", ufwDir]);

        await this.startHolder(this.hosts.swas, [], join(this.dir, "swas-etc"));
        await this.startHolder(this.hosts.vultr, [[ufwDir, "/etc/ufw"]]);
        await this.startHolder(this.hosts.home, []);
        for (const extra of this.extras) await this.startHolder(extra, []);
        const ufw = this.inHost("vultr", ["bash", "-c", "ufw default deny incoming >/dev/null && ufw allow 22/tcp >/dev/null && ufw --force enable >/dev/null"]);
        if (ufw.status !== 0) throw new Error(`could not enable ufw on the Vultr host: ${ufw.stderr}`);

        this.startSshd(this.hosts.swas, ["PermitRootLogin yes", "PasswordAuthentication yes", "PubkeyAuthentication no", "AllowUsers root"]);
        this.startSshd(this.hosts.vultr, ["PermitRootLogin prohibit-password", "PasswordAuthentication no", "PubkeyAuthentication yes", "AllowUsers root"]);
        this.startSshd(this.hosts.home, ["PermitRootLogin no", "PasswordAuthentication no", "PubkeyAuthentication yes", `AllowUsers ${this.homeUser}`]);
        for (const extra of this.extras) this.startSshd(extra, ["PermitRootLogin prohibit-password", "PasswordAuthentication no", "PubkeyAuthentication yes", "AllowUsers root"]);
        for (const host of this.allHosts()) await this.waitForPort(host.sshAddress, 22);
    }

    private addNamespace(name: string): string {
        const ns = this.ns(name);
        execFileSync("ip", ["netns", "add", ns]);
        this.namespaces.push(ns);
        ipIn(ns, "link", "set", "lo", "up");
        return ns;
    }

    /**
     * A host's own filesystem view: its /opt (the toolkit), a fresh /run (wireguard-go's control sockets, flannel's key,
     * sshd's privilege separation directory), any bind mounts given and an overlay over /etc (`<dir>/upper` over this
     * machine's /etc), in a mount namespace a sleeping process holds.
     */
    private async startHolder(host: LabHost, binds: Array<[string, string]>, etcOverlay?: string): Promise<void> {
        const script = [
            "set -e",
            `mount --bind '${join(host.root, "opt")}' /opt`,
            "mount -t tmpfs -o mode=0755 k3smc-lab /run",
            "mkdir -p /run/sshd /run/wireguard",
            ...(etcOverlay ? [`mount -t overlay k3smc-lab-etc -o 'lowerdir=/etc,upperdir=${etcOverlay}/upper,workdir=${etcOverlay}/work' /etc`] : []),
            ...binds.map(([from, to]) => `mount --bind '${from}' '${to}'`),
            "exec sleep infinity",
        ].join("\n");
        const holder = this.track(spawn("ip", ["netns", "exec", host.netns, "unshare", "--mount", "--propagation", "private", "--", "bash", "-c", script], { stdio: "ignore" }));
        for (let attempt = 0; attempt < 100; attempt++) {
            if (holder.exitCode !== null) throw new Error(`the ${host.kind} host's namespace holder exited (${holder.exitCode})`);
            if (readFileSync(`/proc/${holder.pid}/comm`, "utf8").trim() === "sleep") {
                host.holderPid = holder.pid!;
                return;
            }
            await sleep(50);
        }
        throw new Error(`the ${host.kind} host's mounts were not ready`);
    }

    private readonly sshd = new Map<string, { child: ChildProcess; auth: string[] }>();

    /**
     * Stops a host's sshd and starts it again with another host key (what a reinstalled machine, or someone between
     * the runner and the host, presents); `undefined` restores the host's own key.
     */
    async restartSshd(kind: HostKind, hostKeyFile?: string): Promise<void> {
        const running = this.sshd.get(kind);
        if (!running) throw new Error(`no sshd on ${kind}`);
        running.child.kill("SIGTERM");
        await new Promise((done) => (running.child.exitCode !== null ? done(undefined) : running.child.once("exit", done)));
        this.startSshd(this.hosts[kind], running.auth, hostKeyFile);
        await this.waitForPort(this.hosts[kind].sshAddress, 22);
    }

    private startSshd(host: LabHost, auth: string[], hostKeyFile = host.hostKeyFile): void {
        const authorized = join(this.dir, `${host.name}_authorized`);
        mkdirSync(authorized, { recursive: true, mode: 0o755 });
        for (const user of ["root", this.homeUser]) writeFileSync(join(authorized, user), `${this.clientPublicKey()}\n`, { mode: 0o644 });
        const config = join(this.dir, `${host.name}_sshd_config`);
        writeFileSync(
            config,
            [
                "Port 22",
                "ListenAddress 0.0.0.0",
                `HostKey ${hostKeyFile}`,
                `PidFile ${join(this.dir, `${host.name}_sshd.pid`)}`,
                `AuthorizedKeysFile ${authorized}/%u`,
                "StrictModes no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                ...auth,
                // A stock sshd accepts no environment from the client; this is the host's own session environment.
                `SetEnv ${Object.entries(this.sessionEnvOf(host)).filter(([k]) => k !== "HOME").map(([k, v]) => `${k}=${v}`).join(" ")}`,
                "",
            ].join("\n"),
        );
        const child = this.track(spawn("nsenter", ["-t", String(host.holderPid), "-m", "-n", "/usr/sbin/sshd", "-D", "-E", join(this.dir, `${host.name}_sshd.log`), "-f", config], { stdio: "ignore" }));
        this.sshd.set(host.name, { child, auth });
    }

    /** Where a host's sshd logs (one "Accepted ..." line per login). */
    sshdLog(kind: HostKind): string {
        return join(this.dir, `${kind}_sshd.log`);
    }

    /** How many logins a host's sshd accepted so far: every SSH connection a step or relay made to it. */
    sshLogins(kind: HostKind): number {
        const log = this.sshdLog(kind);
        return existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((line) => line.includes("Accepted ")).length : 0;
    }

    /** The existing server's login: a sudo user, as on a box its owner set up (per run, removed by teardown). */
    private createHomeUser(): void {
        if (spawnSync("id", [this.homeUser]).status !== 0) {
            execFileSync("useradd", ["--system", "--shell", "/bin/bash", "--home-dir", join(this.dir, "home-user"), "--create-home", this.homeUser]);
            this.createdUser = true;
        }
        execFileSync("usermod", ["-p", "*", this.homeUser]); // key logins only (a locked "!" account is refused by sshd)
        const sudoers = [
            `${this.homeUser} ALL=(root) NOPASSWD: ALL`,
            `Defaults:${this.homeUser} secure_path="${SESSION_PATH}"`,
            `Defaults:${this.homeUser} env_keep += "K3SMC_ROOT K3SMC_POLL_INTERVAL LAB_API LAB_K8S_TOOLS"`,
            "",
        ].join("\n");
        const staged = join(this.dir, "sudoers");
        writeFileSync(staged, sudoers, { mode: 0o440 });
        execFileSync("visudo", ["-cqf", staged]);
        copyFileSync(staged, this.sudoersFile);
        chmodSync(this.sudoersFile, 0o440);
    }

    /** Waits until the runner can open a TCP connection to address:port. */
    async waitForPort(address: string, port: number): Promise<void> {
        for (let attempt = 0; attempt < 100; attempt++) {
            if (this.inNamespace(this.runnerNs, ["bash", "-c", `exec 3<>/dev/tcp/${address}/${port}`], { timeout: 2000 }).status === 0) return;
            await sleep(100);
        }
        throw new Error(`nothing answers on ${address}:${port} from the runner`);
    }

    /** The environment a session on the host gets from its sshd (SetEnv), for commands the lab runs there itself. */
    sessionEnv(kind: HostKind): NodeJS.ProcessEnv {
        return this.sessionEnvOf(this.hosts[kind]);
    }

    sessionEnvOf(host: LabHost): NodeJS.ProcessEnv {
        return { PATH: SESSION_PATH, HOME: "/root", K3SMC_ROOT: host.root, K3SMC_POLL_INTERVAL: "0.2", LAB_API: this.api, LAB_K8S_TOOLS: this.k8sTools };
    }

    /** Runs argv inside a host: its network namespace and its filesystem view. */
    inHost(kind: HostKind, argv: readonly string[], options: RunOptions = {}): CommandResult {
        return runArgv(["nsenter", "-t", String(this.hosts[kind].holderPid), "-m", "-n", ...argv], options);
    }

    /** Runs argv in a network namespace of the lab (the runner, the stranger, a router). */
    inNamespace(ns: string, argv: readonly string[], options: RunOptions = {}): CommandResult {
        return runArgv(["ip", "netns", "exec", ns, ...argv], options);
    }

    /** Starts a long-running process inside a host; teardown stops it by its PID. */
    spawnInHost(kind: HostKind, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
        const [program, ...rest] = ["nsenter", "-t", String(this.hosts[kind].holderPid), "-m", "-n", ...argv];
        return this.track(spawn(program, rest, { stdio: "ignore", env }));
    }

    /**
     * What the Kubernetes provider's NodePatch does, on the lab's API server (from the first server, with k3s.yaml):
     * sets the node's annotations and labels, removing those given empty (the provider's patch semantics). The k3s
     * stand-in's flannel reads public-ip-overwrite from there when it starts.
     */
    patchNode(node: string, annotations: Record<string, string>, labels: Record<string, string> = {}): CommandResult {
        // pulumi.com/patchForce tells the provider to take fields over; it never reaches the object.
        const args = (entries: Record<string, string>) =>
            Object.entries(entries)
                .filter(([key]) => !key.startsWith("pulumi.com/"))
                .map(([key, value]) => (value === "" ? `${key}-` : `${key}=${value}`));
        const [annotate, label] = [args(annotations), args(labels)];
        const results = [
            ...(annotate.length ? [this.kubectl(["annotate", "--overwrite", "node", node, ...annotate])] : []),
            ...(label.length ? [this.kubectl(["label", "--overwrite", "node", node, ...label])] : []),
        ];
        const failed = results.find((r) => r.status !== 0);
        return failed ?? { status: 0, stdout: results.map((r) => r.stdout).join(""), stderr: "" };
    }

    /** kubectl against the lab's API server, run on the first server with its k3s.yaml (as `k3s kubectl` there). */
    kubectl(args: readonly string[], options: RunOptions = {}): CommandResult {
        return this.inHost("swas", [join(this.k8sTools, "kubectl"), "--kubeconfig", join(this.hosts.swas.root, "etc/rancher/k3s/k3s.yaml"), "--request-timeout=10s", ...args], options);
    }

    /**
     * A pod on a host, as far as the network goes: a namespace of its own with `address`/24 on a veth whose host end is
     * the gateway (`gateway`/24), as the CNI bridge gives one. Returns its namespace (removed by teardown).
     */
    addPod(kind: HostKind, name: string, address: string, gateway: string): string {
        const pod = this.addNamespace(name);
        const host = this.hosts[kind].netns;
        ipIn(host, "link", "add", `v${name}`.slice(0, 15), "type", "veth", "peer", "name", "eth0", "netns", pod);
        ipIn(host, "addr", "add", `${gateway}/24`, "dev", `v${name}`.slice(0, 15));
        ipIn(host, "link", "set", `v${name}`.slice(0, 15), "up");
        ipIn(pod, "addr", "add", `${address}/24`, "dev", "eth0");
        ipIn(pod, "link", "set", "eth0", "up");
        ipIn(pod, "route", "add", "default", "via", gateway);
        return pod;
    }

    /**
     * A reboot as far as flannel cares: wireguard-go gone (waited for, up to 20 s, so the new start makes a new device),
     * the tmpfs key gone, k3s started again (a new WireGuard key).
     * Returns why it could not, or undefined.
     */
    rebootFlannel(kind: HostKind): string | undefined {
        const unit = kind === "swas" ? "k3s" : "k3s-agent";
        const reboot = this.inHost(kind, ["bash", "-c", `pid=$(cat /run/k3s-lab/wireguard-go.pid); kill "$pid"; i=0; while { kill -0 "$pid" || ip link show flannel-wg; } >/dev/null 2>&1 && [ $((i += 1)) -le 200 ]; do sleep 0.1; done; rm -f /run/flannel/wgkey; systemctl restart ${unit} && sleep 1`], {
            env: this.sessionEnv(kind),
        });
        return reboot.status === 0 ? undefined : `could not reboot flannel on ${kind}: ${reboot.stderr}`;
    }

    /** The three hosts and the extra ones. */
    allHosts(): LabHost[] {
        return [...Object.values(this.hosts), ...this.extras];
    }

    /** Where a host's k3s stand-in keeps its PIDs and log (its /run/k3s-lab), seen from the runner; undefined before the host is up. */
    private standInState(host: LabHost): string | undefined {
        return host.holderPid ? `/proc/${host.holderPid}/root/run/k3s-lab` : undefined;
    }

    /** The last lines of a host's k3s stand-in log (which peers it programmed, what failed), for failure messages. */
    standInLog(host: LabHost, lines = 6): string {
        const state = this.standInState(host);
        if (!state || !existsSync(join(state, "k3s.log"))) return "no log";
        return readFileSync(join(state, "k3s.log"), "utf8").trimEnd().split("\n").slice(-lines).join(" / ");
    }

    /** Every host's stand-in log tail in one line, for a failed check's message. */
    standInLogs(lines = 6): string {
        return this.allHosts().map((host) => `${host.name}: ${this.standInLog(host, lines)}`).join(" ## ");
    }

    track(child: ChildProcess): ChildProcess {
        this.processes.push(child);
        return child;
    }

    /** Stops every process the lab started (by PID), removes its namespaces, user, sudoers entry and files. Idempotent. */
    teardown(): void {
        if (this.tornDown) return;
        this.tornDown = true;
        const pids = new Set<number>();
        // Processes the hosts' k3s stand-ins started (the daemon, wireguard-go) recorded their PIDs in the host's /run.
        for (const host of this.allHosts()) {
            const state = this.standInState(host);
            if (!state || !existsSync(state)) continue;
            for (const file of readdirSync(state).filter((f) => f.endsWith(".pid"))) {
                const pid = Number(readFileSync(join(state, file), "utf8").trim());
                if (pid > 0) pids.add(pid);
            }
        }
        for (const child of this.processes) if (child.pid && child.exitCode === null) pids.add(child.pid);
        // Anything else still running inside the lab's network namespaces was started by the lab too.
        for (const ns of this.namespaces) {
            const listed = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? "";
            for (const pid of listed.split(/\s+/).filter(Boolean)) pids.add(Number(pid));
        }
        for (const pid of pids) signal(pid, "SIGTERM");
        for (let i = 0; i < 20 && [...pids].some((pid) => existsSync(`/proc/${pid}`)); i++) spawnSync("sleep", ["0.1"]);
        for (const pid of pids) signal(pid, "SIGKILL");
        for (let i = 0; i < 20 && [...pids].some((pid) => existsSync(`/proc/${pid}`)); i++) spawnSync("sleep", ["0.1"]);
        for (const ns of this.namespaces) spawnSync("ip", ["netns", "delete", ns]);
        if (existsSync(this.sudoersFile)) rmSync(this.sudoersFile);
        if (this.createdUser) spawnSync("userdel", [this.homeUser]);
        rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * Makes a lab world (with `extraHosts` spare Vultr-like hosts), hands it to `body`, and tears it down afterwards -
 * also when `body` fails, and on Ctrl-C or SIGTERM (then the process exits 130).
 */
export async function withWorld<T>(extraHosts: number, body: (world: LabWorld) => Promise<T>): Promise<T> {
    const world = new LabWorld(extraHosts);
    const onSignal = () => {
        world.teardown();
        process.exit(130);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        return await body(world);
    } finally {
        world.teardown();
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
    }
}

export interface RunOptions {
    readonly input?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly timeout?: number;
}

export function runArgv(argv: readonly string[], options: RunOptions = {}): CommandResult {
    const result = spawnSync(argv[0], argv.slice(1), {
        input: options.input ?? "",
        env: options.env ?? process.env,
        encoding: "utf8",
        timeout: options.timeout ?? 120_000,
    });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? (result.error ? String(result.error) : "") };
}

/** runArgv without blocking the event loop, so several run at once. */
export function runArgvAsync(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return new Promise((resolvePromise) => {
        const child = spawn(argv[0], argv.slice(1), { env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? 120_000);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolvePromise({ status, stdout, stderr });
        });
        child.stdin.end(options.input ?? "");
    });
}

function ipIn(ns: string, ...args: string[]): void {
    execFileSync("ip", ["-n", ns, ...args]);
}

function nft(ns: string, rules: string): void {
    execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: rules });
}

function keygen(file: string): void {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
}

function publicKeyOf(privateKeyFile: string): string {
    return pinnableKey(readFileSync(`${privateKeyFile}.pub`, "utf8"));
}

function signal(pid: number, name: NodeJS.Signals): void {
    try {
        process.kill(pid, name);
    } catch {
        // already gone
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}
