import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { renderNodeSteps, NodeStepsInput } from "../../components/k3s/nodeSteps";
import { ScriptSandbox } from "../harness/scriptSandbox";

const TOKEN = "K10-test-token-7c1d";
/** An agent's join token: k3s' secure format (the install refuses a token without the CA hash). */
const AGENT_TOKEN = `K10${"ab".repeat(32)}::node:agent-secret-7c1d`;

/** The line a server's install ends with: the CA hash from the token the k3s stand-in wrote at its first start. */
function caHashLine(box: ScriptSandbox): string {
    return `# ca-hash ${/^K10([0-9a-f]{64})::/.exec(box.read("var/lib/rancher/k3s/server/token"))![1]}\n`;
}

function serverSteps(overrides: Partial<NodeStepsInput> = {}, options = {}) {
    return renderNodeSteps({
        config: { role: "server", nodeName: "sh-server", privateIp: "172.17.61.146", publicIp: "47.100.1.10", options },
        version: "v1.33.6+k3s1",
        mirror: "github",
        sudo: false,
        readyTimeoutSeconds: 5,
        ...overrides,
    });
}

function agentSteps(mirror: "github" | "cn" = "github") {
    return renderNodeSteps({
        config: {
            role: "agent",
            nodeName: "tokyo-1",
            privateIp: "104.156.140.173",
            publicIp: "104.156.140.173",
            serverUrl: "https://47.100.1.10:6443",
            options: {},
        },
        version: "v1.33.6+k3s1",
        mirror,
        sudo: false,
        readyTimeoutSeconds: 5,
    });
}

describe("install script (real bash, stand-ins for systemd and the k3s download)", () => {
    let box: ScriptSandbox;
    beforeEach(() => (box = new ScriptSandbox()));
    afterEach(() => box.cleanup());

    it("on the server, forgets a node whose machine was replaced under the same name, before it joins again", () => {
        const kubectl = `k3s kubectl --kubeconfig ${box.root}/etc/rancher/k3s/k3s.yaml`;
        const forgetCalls = () => box.calls().filter((c) => c.includes(" delete ") || c.includes(" drain "));
        const install = (identities: string) => box.run(serverSteps({ nodeIdentities: identities }).install, { stdin: `${TOKEN}\n` });
        // First install: identities are only recorded (nothing to forget in a new cluster, or after an upgrade).
        let run = install("tokyo-1=vultr-instance-1,home-1=203.0.113.10");
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(forgetCalls(), []);
        assert.equal(box.read("var/lib/k3s-multicloud/node-identities/tokyo-1"), "vultr-instance-1\n");
        // tokyo-1's machine is replaced: the server's install runs again ("nothing to do" for k3s) and forgets it.
        box.clearCalls();
        run = install("tokyo-1=vultr-instance-2,home-1=203.0.113.10");
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(forgetCalls(), [
            `${kubectl} drain --ignore-daemonsets --delete-emptydir-data --force --timeout=60s -- tokyo-1`,
            `${kubectl} delete node --ignore-not-found -- tokyo-1`,
            `${kubectl} -n kube-system delete secret --ignore-not-found -- tokyo-1.node-password.k3s`,
        ]);
        assert.equal(
            run.stdout,
            [
                "k3s-multicloud [sh-server] k3s v1.33.6+k3s1, config and token unchanged, node Ready: nothing to do",
                "k3s-multicloud [sh-server] tokyo-1 runs on a new machine (vultr-instance-1 -> vultr-instance-2): drained and deleted its old Node object and node password, so it can join",
                "",
            ].join("\n") + caHashLine(box),
        );
        // Once forgotten, the same identity again changes nothing.
        box.clearCalls();
        assert.equal(install("tokyo-1=vultr-instance-2,home-1=203.0.113.10").status, 0);
        assert.deepEqual(forgetCalls(), []);
    });

    it("first run: downloads the upstream installer and runs it with the pinned version as server", () => {
        const steps = serverSteps();
        const run = box.run(steps.install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(box.calls(), [
            // Behind NAT: the public address bound on lo, and at every boot, before k3s starts.
            "ip address replace 47.100.1.10/32 dev lo",
            "systemctl daemon-reload",
            "systemctl enable multicloud-k3s-public-address.service",
            "curl https://get.k3s.io",
            "installer role=server version=v1.33.6+k3s1 mirror= skip-start=true",
            // Installed without starting, then started without waiting: the bounded wait follows.
            "systemctl restart --no-block k3s",
            `k3s kubectl --kubeconfig ${box.root}/etc/rancher/k3s/k3s.yaml get node sh-server -o jsonpath={.status.conditions[?(@.type=="Ready")].status}`,
        ]);
        assert.equal(box.read("etc/rancher/k3s/config.yaml"), steps.configYaml);
        assert.equal(box.read("etc/rancher/k3s/cluster-token"), `${TOKEN}\n`);
        assert.equal(statSync(join(box.root, "etc/rancher/k3s/cluster-token")).mode & 0o777, 0o600);
        assert.equal(statSync(join(box.root, "etc/rancher/k3s/config.yaml")).mode & 0o777, 0o600);
        assert.match(run.stdout, /k3s-multicloud \[sh-server\] installing k3s v1\.33\.6\+k3s1 as server from github \(installed: none\)/);
        assert.match(run.stdout, /k3s-multicloud \[sh-server\] node sh-server is Ready \(k3s v1\.33\.6\+k3s1\)/);
        assert.ok(!run.stdout.includes(TOKEN) && !run.stderr.includes(TOKEN), "the token must not be printed");
    });

    it("behind NAT the public address is bound on lo (pods reach the API the server advertises without hairpin NAT); with it on the NIC nothing is", () => {
        const nat = serverSteps();
        assert.equal(box.run(nat.install, { stdin: `${TOKEN}\n` }).status, 0);
        assert.equal(box.read("lo-addresses"), "47.100.1.10/32\n");
        assert.equal(
            box.read("etc/systemd/system/multicloud-k3s-public-address.service"),
            [
                "[Unit]",
                "Description=k3s-multicloud: this node's public address 47.100.1.10 on lo (it sits behind NAT)",
                "Before=k3s.service k3s-agent.service",
                "After=network-pre.target",
                "",
                "[Service]",
                "Type=oneshot",
                "ExecStart=/bin/sh -c 'ip address replace 47.100.1.10/32 dev lo'",
                "RemainAfterExit=yes",
                "",
                "[Install]",
                "WantedBy=multi-user.target",
                "",
            ].join("\n"),
        );
        // Run again: nothing to bind, nothing to write.
        box.clearCalls();
        assert.equal(box.run(nat.install, { stdin: `${TOKEN}\n` }).status, 0);
        assert.deepEqual(box.calls().filter((c) => /address|public-address|daemon-reload/.test(c)), []);
        // A new host with its public address on the NIC (the stand-in's NIC holds node-ip): nothing is bound.
        box.run('rm -rf "$K3SMC_ROOT/etc" "$K3SMC_ROOT/usr" "$K3SMC_ROOT/var" "$K3SMC_ROOT/lo-addresses"');
        box.clearCalls();
        const onNic = serverSteps({ config: { role: "server", nodeName: "sh-server", privateIp: "47.100.1.10", publicIp: "47.100.1.10", options: {} } });
        assert.equal(box.run(onNic.install, { stdin: `${TOKEN}\n` }).status, 0);
        assert.equal(box.calls()[0], "curl https://get.k3s.io");
        assert.equal(existsSync(join(box.root, "etc/systemd/system/multicloud-k3s-public-address.service")), false);
        assert.equal(existsSync(join(box.root, "lo-addresses")), false);
    });

    it("an agent installs in agent mode and waits with the kubelet's credentials", () => {
        const run = box.run(agentSteps().install, { stdin: `${AGENT_TOKEN}\n` });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(box.calls()[1], "installer role=agent version=v1.33.6+k3s1 mirror= skip-start=true");
        assert.equal(box.calls()[2], "systemctl restart --no-block k3s-agent");
        assert.match(box.calls()[3], /--kubeconfig .*\/var\/lib\/rancher\/k3s\/agent\/kubelet\.kubeconfig get node tokyo-1 /);
    });

    it("uses the China mirror installer with INSTALL_K3S_MIRROR=cn when asked", () => {
        const run = box.run(agentSteps("cn").install, { stdin: `${AGENT_TOKEN}\n` });
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(box.calls().slice(0, 2), [
            "curl https://rancher-mirror.rancher.cn/k3s/k3s-install.sh",
            "installer role=agent version=v1.33.6+k3s1 mirror=cn skip-start=true",
        ]);
    });

    it("a second identical run downloads nothing, restarts nothing, and says so", () => {
        const steps = serverSteps();
        assert.equal(box.run(steps.install, { stdin: `${TOKEN}\n` }).status, 0);
        box.clearCalls();
        const second = box.run(steps.install, { stdin: `${TOKEN}\n` });
        assert.equal(second.status, 0, second.stderr);
        assert.equal(
            second.stdout,
            "k3s-multicloud [sh-server] k3s v1.33.6+k3s1, config and token unchanged, node Ready: nothing to do\n" + caHashLine(box),
        );
        assert.deepEqual(box.calls().filter((c) => !c.startsWith("k3s kubectl")), []);
    });

    it("a config-only change on a running node is staged, and applying it restarts the service (the installer would not)", () => {
        const first = serverSteps();
        assert.equal(box.run(first.install, { stdin: `${TOKEN}\n` }).status, 0);
        box.clearCalls();
        const changed = serverSteps({}, { disable: ["traefik"] });
        const staged = box.run(changed.install, { stdin: `${TOKEN}\n` });
        assert.equal(staged.status, 0, staged.stderr);
        // The install step touches nothing that runs: the upgrade step drains the node first.
        assert.deepEqual(box.calls(), []);
        assert.equal(box.read("etc/rancher/k3s/config.yaml"), first.configYaml);
        // The staged token is for root's eyes only (the verb writes with umask 077).
        for (const file of ["cluster-token", "config.yaml", "version"]) {
            assert.equal(statSync(join(box.root, "var/lib/k3s-multicloud/next", file)).mode & 0o777, 0o600, file);
        }
        assert.equal(
            staged.stdout,
            `k3s-multicloud [sh-server] k3s v1.33.6+k3s1 runs here with another config or version: staged k3s v1.33.6+k3s1 and the new config (fingerprint ${changed.fingerprint.slice(0, 12)}); the node's upgrade step drains the node and applies it\n` + caHashLine(box),
        );
        assert.equal(box.run(changed.readFingerprint).stdout, `${first.fingerprint}\n`);

        const applied = box.run(changed.applyStaged);
        assert.equal(applied.status, 0, applied.stderr);
        assert.deepEqual(box.calls().filter((c) => !c.startsWith("k3s kubectl")), ["systemctl restart --no-block k3s"]);
        assert.match(applied.stdout, /^k3s-multicloud \[sh-server\] k3s v1\.33\.6\+k3s1: config\.yaml changed, restarting k3s\n/);
        assert.equal(box.read("etc/rancher/k3s/config.yaml"), changed.configYaml);
        assert.equal(box.run(changed.readFingerprint).stdout, `${changed.fingerprint}\n`);
        assert.equal(box.exists("var/lib/k3s-multicloud/next"), false, "nothing stays staged");
        // Applying again finds nothing to do.
        assert.equal(box.run(changed.applyStaged).stdout, `k3s-multicloud [sh-server] k3s already runs with fingerprint ${changed.fingerprint.slice(0, 12)}: nothing to apply\n`);
    });

    it("a version change on a running node is staged, and applying it runs the installer with the new version", () => {
        assert.equal(box.run(serverSteps().install, { stdin: `${TOKEN}\n` }).status, 0);
        const next = serverSteps({ version: "v1.34.2+k3s1" });
        assert.equal(box.run(next.install, { stdin: `${TOKEN}\n` }).status, 0);
        box.clearCalls();
        const run = box.run(next.applyStaged);
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(box.calls().slice(0, 2), ["curl https://get.k3s.io", "installer role=server version=v1.34.2+k3s1 mirror= skip-start=true"]);
        assert.match(run.stdout, /installing k3s v1\.34\.2\+k3s1 as server from github \(installed: v1\.33\.6\+k3s1\)/);
    });

    it("refuses to apply a staged change other than the one the step names", () => {
        assert.equal(box.run(serverSteps().install, { stdin: `${TOKEN}\n` }).status, 0);
        assert.equal(box.run(serverSteps({ version: "v1.34.2+k3s1" }).install, { stdin: `${TOKEN}\n` }).status, 0);
        const other = serverSteps({}, { disable: ["traefik"] });
        const run = box.run(other.applyStaged);
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            `k3s-multicloud [sh-server] ERROR: the staged change (fingerprint ${serverSteps({ version: "v1.34.2+k3s1" }).fingerprint.slice(0, 12)}) is not the one this step applies (${other.fingerprint.slice(0, 12)}). Run 'pulumi up' again.\n`,
        );
    });

    it("a staged change reverted in the stack is dropped by the next install", () => {
        const first = serverSteps();
        assert.equal(box.run(first.install, { stdin: `${TOKEN}\n` }).status, 0);
        assert.equal(box.run(serverSteps({ version: "v1.34.2+k3s1" }).install, { stdin: `${TOKEN}\n` }).status, 0);
        assert.equal(box.exists("var/lib/k3s-multicloud/next/version"), true);
        const back = box.run(first.install, { stdin: `${TOKEN}\n` });
        assert.equal(back.status, 0, back.stderr);
        assert.equal(box.exists("var/lib/k3s-multicloud/next"), false);
        assert.match(back.stdout, /nothing to do\n# ca-hash [0-9a-f]{64}\n$/);
    });

    it("when flannel cannot create the WireGuard interface, prints the journal and says so in words", () => {
        box.plant("ready-status", "False");
        box.plant(
            "journal.txt",
            'k3s[812]: level=fatal msg="flannel exited: failed to register flannel network: could not create wireguard interface: operation not supported"\n',
        );
        const run = box.run(serverSteps({ readyTimeoutSeconds: 1 }).install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 1);
        const kernel = box.run("uname -r").stdout.trim();
        assert.equal(
            run.stderr,
            [
                "--- last journal lines of k3s ---",
                'k3s[812]: level=fatal msg="flannel exited: failed to register flannel network: could not create wireguard interface: operation not supported"',
                "--- end of journal ---",
                `k3s-multicloud [sh-server] ERROR: flannel could not create its WireGuard interface on sh-server, so k3s keeps restarting: kernel ${kernel} has no usable WireGuard. Upgrade the kernel and reboot, then run 'pulumi up' again.`,
                "",
            ].join("\n"),
        );
        assert.ok(box.calls().includes("journalctl -u k3s -n 40 --no-pager"));
    });

    it("a node that never gets Ready for another reason fails after the timeout with the journal", () => {
        box.plant("ready-status", "False");
        box.plant("journal.txt", "k3s-agent[90]: level=error msg=\"failed to get CA certs: connection refused\"\n");
        const run = box.run(agentSteps().install.replace("--ready-timeout 5 ", "--ready-timeout 1 "), { stdin: `${AGENT_TOKEN}\n` });
        assert.equal(run.status, 1);
        assert.match(run.stderr, /k3s-multicloud \[tokyo-1\] ERROR: node tokyo-1 did not become Ready within 1s; the journal lines above say why\.\n$/);
        assert.match(run.stderr, /failed to get CA certs: connection refused/);
    });

    it("an agent the server refuses for another machine's node password stops at once, naming the two commands that forget the old machine", () => {
        box.plant("ready-status", "False");
        // What k3s' agent logs, every 5 s, while the server holds another password for its name (pkg/agent/config).
        box.plant(
            "journal.txt",
            "k3s-agent[90]: level=info msg=\"Waiting to retrieve agent configuration; server is not ready: Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag\"\n",
        );
        const started = Date.now();
        const run = box.run(agentSteps().install, { stdin: `${AGENT_TOKEN}\n` });
        assert.equal(run.status, 1);
        assert.ok(Date.now() - started < 4000, "it waited for the Ready timeout instead of stopping at the refusal");
        assert.equal(
            run.stderr,
            "k3s-multicloud [tokyo-1] ERROR: the server refuses tokyo-1: it holds the node password of another machine under this name (k3s: 'Node password rejected'). This happens when a machine is replaced without its identity changing (an existing server re-installed at the same address). Fix: if the old machine is gone, delete its Node and its password on a server - k3s kubectl delete node tokyo-1; k3s kubectl -n kube-system delete secret tokyo-1.node-password.k3s - then run 'pulumi up' again (docs/operations.md, \"A node on a new machine\").\n",
        );
        assert.ok(box.calls().some((call) => /^journalctl -u k3s-agent --since @[0-9]+ -n 20 --no-pager$/.test(call)), box.calls().join("\n"));
    });

    it("refuses to run without a token on stdin, before touching anything", () => {
        const run = box.run(serverSteps().install, { stdin: "" });
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud [sh-server] ERROR: no join token on stdin\n");
        assert.equal(box.exists("etc/rancher/k3s/config.yaml"), false);
    });

    it("a failed installer download stops with the URL", () => {
        box.plant("curl-fails", "");
        const run = box.run(serverSteps().install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud [sh-server] ERROR: could not download the k3s installer from https://get.k3s.io\n");
    });
});

describe("uninstall script", () => {
    let box: ScriptSandbox;
    beforeEach(() => (box = new ScriptSandbox()));
    afterEach(() => box.cleanup());

    /** What this project and k3s put on a host, as still found there. */
    const left = () =>
        [
            "usr/local/bin/k3s",
            "usr/local/bin/kubectl",
            "etc/rancher/k3s/config.yaml",
            "etc/rancher/k3s/cluster-token",
            "etc/rancher/k3s/agent-token",
            "etc/systemd/system/k3s.service",
            "etc/systemd/system/k3s-agent.service",
            "etc/systemd/system/multicloud-k3s-firewall.service",
            "etc/systemd/system/k3s-multicloud-firewall.service",
            "etc/systemd/system/multicloud-k3s-public-address.service",
            "etc/k3s-multicloud/firewall.nft",
            "var/lib/k3s-multicloud",
            "opt/k3s-multicloud",
        ].filter((path) => existsSync(join(box.root, path)));
    const FIREWALL_UNIT = "[Unit]\nDescription=k3s-multicloud: k3s ports open to cluster members only\n";

    it("runs k3s' uninstaller for the node's role, and removes the firewall unit, the staged change, the tokens and the toolkit", () => {
        assert.equal(box.run(serverSteps().install, { stdin: `${TOKEN}\nagent-token-1\n` }).status, 0);
        box.plant("etc/systemd/system/multicloud-k3s-firewall.service", FIREWALL_UNIT);
        box.plant("etc/k3s-multicloud/firewall.nft", "table inet k3s_multicloud {}\n");
        box.plant("var/lib/k3s-multicloud/next/cluster-token", `${TOKEN}\n`);
        assert.deepEqual(left(), [
            "usr/local/bin/k3s",
            "usr/local/bin/kubectl",
            "etc/rancher/k3s/config.yaml",
            "etc/rancher/k3s/cluster-token",
            "etc/rancher/k3s/agent-token",
            "etc/systemd/system/k3s.service",
            "etc/systemd/system/multicloud-k3s-firewall.service",
            "etc/systemd/system/multicloud-k3s-public-address.service",
            "etc/k3s-multicloud/firewall.nft",
            "var/lib/k3s-multicloud",
            "opt/k3s-multicloud",
        ]);
        box.clearCalls();
        const run = box.run(serverSteps().uninstall);
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(box.calls(), [
            "systemctl disable --now multicloud-k3s-firewall.service",
            "systemctl daemon-reload",
            "ip address del 47.100.1.10/32 dev lo",
            "systemctl disable multicloud-k3s-public-address.service",
            "systemctl daemon-reload",
            "k3s-uninstall.sh ran",
            "k3s-killall.sh ran",
            "systemctl stop k3s.service",
            "systemctl disable k3s",
        ]);
        assert.equal(
            run.stdout,
            [
                "k3s-multicloud [sh-server] uninstalling k3s (server)",
                "k3s-multicloud [sh-server] k3s removed, with its configuration and tokens",
                "k3s-multicloud [sh-server] removed the host firewall (unit, nftables table, ufw rules), the staged files and the toolkit: nothing of k3s-multicloud is left",
                "",
            ].join("\n"),
        );
        assert.deepEqual(left(), []);
    });

    it("a host set up by release 0.3.0 (firewall unit k3s-multicloud-firewall.service) is uninstalled completely: the old unit goes first", () => {
        assert.equal(box.run(agentSteps().install, { stdin: `${AGENT_TOKEN}\n` }).status, 0);
        box.plant("etc/systemd/system/k3s-multicloud-firewall.service", FIREWALL_UNIT);
        box.clearCalls();
        const run = box.run(agentSteps().uninstall);
        assert.equal(run.status, 0, run.stderr);
        assert.equal(box.calls()[0], "systemctl disable --now k3s-multicloud-firewall.service");
        assert.deepEqual(left(), []);
    });

    it("k3s' uninstaller stopping early (another k3s*.service unit on the host) fails the removal in words, and keeps the toolkit for the next attempt", () => {
        assert.equal(box.run(agentSteps().install, { stdin: `${AGENT_TOKEN}\n` }).status, 0);
        box.plant("etc/systemd/system/k3s-backup.service", "[Unit]\nDescription=someone's own unit\n");
        const run = box.run(agentSteps().uninstall);
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            "k3s-multicloud [tokyo-1] ERROR: k3s is still installed after its uninstaller ran: /usr/local/bin/k3s /etc/rancher/k3s (tokens) remain. " +
                "Its uninstaller stops early while other k3s*.service units exist (k3s-backup.service): remove them, then run 'pulumi up' (or 'pulumi destroy') again.\n",
        );
        assert.deepEqual(left(), ["usr/local/bin/k3s", "usr/local/bin/kubectl", "etc/rancher/k3s/config.yaml", "etc/rancher/k3s/cluster-token", "opt/k3s-multicloud"]);
    });

    it("succeeds when k3s is already gone, and still removes what this project left", () => {
        box.plant("etc/k3s-multicloud/firewall.nft", "table inet k3s_multicloud {}\n");
        const run = box.run(serverSteps().uninstall);
        assert.equal(run.status, 0, run.stderr);
        assert.equal(
            run.stdout,
            "k3s-multicloud [sh-server] k3s (server) is not installed: nothing to uninstall\n" +
                "k3s-multicloud [sh-server] removed the host firewall (unit, nftables table, ufw rules), the staged files and the toolkit: nothing of k3s-multicloud is left\n",
        );
        assert.deepEqual(left(), []);
    });
});

describe("installs that cannot hang (real bash, stand-ins that block the way systemd and a stalled download do)", () => {
    let box: ScriptSandbox;
    beforeEach(() => (box = new ScriptSandbox()));
    afterEach(() => box.cleanup());

    it("never waits on systemctl: a start that would block (Type=notify, server unreachable) is issued with --no-block", () => {
        // A systemctl that blocks for 5 s unless told not to wait, like a notify unit whose agent cannot reach its server.
        box.addStandin("systemctl", 'echo "systemctl $*" >>"$K3SMC_ROOT/calls.log"; case " $* " in *" --no-block "*) ;; *) sleep 5 ;; esac');
        box.plant("ready-status", "False");
        const started = Date.now();
        const run = box.run(agentSteps().install.replace("--ready-timeout 5 ", "--ready-timeout 1 "), { stdin: `${AGENT_TOKEN}\n` });
        assert.equal(run.status, 1);
        assert.ok(Date.now() - started < 4000, `the step returned after its own bounded wait, not systemctl's (${Date.now() - started} ms)`);
        assert.deepEqual(box.calls().filter((c) => c.startsWith("systemctl") || c.startsWith("installer")), [
            "installer role=agent version=v1.33.6+k3s1 mirror= skip-start=true",
            "systemctl restart --no-block k3s-agent",
        ]);
        assert.match(run.stderr, /ERROR: node tokyo-1 did not become Ready within 1s; the journal lines above say why\.\n$/);
    });

    it("bounds the installer: a stalled download fails the step in words instead of hanging", () => {
        box.addStandin("curl", 'out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done; printf "sleep 30\\n" >"$out"');
        const started = Date.now();
        const run = box.run(serverSteps().install, { stdin: `${TOKEN}\n`, env: { K3SMC_INSTALLER_TIMEOUT: "1" } });
        assert.equal(run.status, 1);
        assert.ok(Date.now() - started < 10_000);
        assert.equal(run.stderr, "k3s-multicloud [sh-server] ERROR: the k3s installer did not finish within 1s (a stalled download from github?). Run 'pulumi up' again.\n");
    });
});

describe("changes k3s does not support, refused on the host against what it runs", () => {
    let box: ScriptSandbox;
    beforeEach(() => {
        box = new ScriptSandbox();
        assert.equal(box.run(serverSteps().install, { stdin: `${TOKEN}\n` }).status, 0, "the node runs v1.33.6+k3s1");
        box.clearCalls();
    });
    afterEach(() => box.cleanup());

    it("refuses a downgrade before anything is staged", () => {
        const run = box.run(serverSteps({ version: "v1.33.5+k3s1" }).install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            "k3s-multicloud [sh-server] ERROR: this node runs k3s v1.33.6+k3s1 and k3s does not support going back to v1.33.5+k3s1. Keep k3sVersion at v1.33.6+k3s1 or newer; to go back, rebuild the cluster (restore an etcd snapshot taken with the older version).\n",
        );
        assert.equal(box.exists("var/lib/k3s-multicloud/next"), false);
    });

    it("refuses to skip a Kubernetes minor", () => {
        const run = box.run(serverSteps({ version: "v1.35.0+k3s1" }).install, { stdin: `${TOKEN}\n` });
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            "k3s-multicloud [sh-server] ERROR: this node runs k3s v1.33.6+k3s1; v1.35.0+k3s1 skips Kubernetes 1.34, and k3s upgrades one minor at a time. Upgrade to the latest v1.34.x first, then to v1.35.0+k3s1.\n",
        );
        // One minor up is fine (staged), as is a patch or k3s release within the minor.
        assert.equal(box.run(serverSteps({ version: "v1.34.2+k3s1" }).install, { stdin: `${TOKEN}\n` }).status, 0);
        assert.equal(box.run(serverSteps({ version: "v1.33.6+k3s2" }).install, { stdin: `${TOKEN}\n` }).status, 0);
    });

    it("a server keeps the agent token beside its own and prints its CA's hash for the agents' secure token", () => {
        const fresh = new ScriptSandbox();
        try {
            // What k3s writes at its first start: the server CA, as PEM on disk (its sha256 is what K10 tokens carry).
            const ca = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2VydmVy\n-----END CERTIFICATE-----\n";
            fresh.plant("var/lib/rancher/k3s/server/tls/server-ca.crt", ca);
            const run = fresh.run(serverSteps().install, { stdin: `${TOKEN}\nagent-token-only-joins-agents-4b2e\n` });
            assert.equal(run.status, 0, run.stderr);
            assert.equal(fresh.read("etc/rancher/k3s/cluster-token"), `${TOKEN}\n`);
            assert.equal(fresh.read("etc/rancher/k3s/agent-token"), "agent-token-only-joins-agents-4b2e\n");
            assert.equal(statSync(join(fresh.root, "etc/rancher/k3s/agent-token")).mode & 0o777, 0o600);
            assert.equal(run.stdout.split("\n").slice(-2)[0], `# ca-hash ${createHash("sha256").update(ca).digest("hex")}`);
            assert.ok(!run.stdout.includes("agent-token-only-joins-agents-4b2e") && !run.stderr.includes("agent-token-only-joins-agents-4b2e"), "no token is printed");
        } finally {
            fresh.cleanup();
        }
    });

    it("the CA hash is the one k3s wrote in its own token (a CA bundle's is its root's DER hash, not the file's)", () => {
        const fresh = new ScriptSandbox();
        try {
            // A custom CA as k3s takes it, intermediate and root in one file: k3s hashes the root's DER (token.go
            // hashCA), which no sha256 of the file gives. What k3s wrote is what the agents must be given.
            fresh.plant("var/lib/rancher/k3s/server/tls/server-ca.crt", "-----BEGIN CERTIFICATE-----\nintermediate\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n");
            const rootHash = "5e".repeat(32);
            fresh.plant("var/lib/rancher/k3s/server/token", `K10${rootHash}::server:${TOKEN}\n`);
            const caHash = renderNodeSteps({
                config: { role: "server", nodeName: "sh-server", privateIp: "172.17.61.146", publicIp: "47.100.1.10", options: {} },
                version: "v1.33.6+k3s1",
                mirror: "github",
                sudo: false,
                readyTimeoutSeconds: 5,
            });
            const run = fresh.run(caHash.install, { stdin: `${TOKEN}\nagent-1\n` });
            assert.equal(run.status, 0, run.stderr);
            assert.equal(run.stdout.split("\n").slice(-2)[0], `# ca-hash ${rootHash}`);
            const verb = fresh.run("/opt/k3s-multicloud/bin/k3smc v1 ca-hash --node-name sh-server");
            assert.equal(verb.stdout, `# ca-hash ${rootHash}\n`);
        } finally {
            fresh.cleanup();
        }
    });

    it("no secure token from k3s means no hash and no join: the server's step fails in words instead of handing out a short token", () => {
        const fresh = new ScriptSandbox();
        const run = fresh.run("/opt/k3s-multicloud/bin/k3smc v1 ca-hash --node-name sh-server");
        fresh.cleanup();
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            "k3s-multicloud [sh-server] ERROR: k3s has written no secure token with the cluster CA's hash (/var/lib/rancher/k3s/server/token, K10<hash>::server:..., written at the server's first start): agents are not given a join token without the hash, since they would trust whatever server answers. Check that k3s started ('journalctl -u k3s'), then run 'pulumi up' again.\n",
        );
    });

    it("an agent refuses a join token without the CA hash (the short format trusts any server)", () => {
        const fresh = new ScriptSandbox();
        const run = fresh.run(agentSteps().install, { stdin: "agent-secret-7c1d\n" });
        const written = fresh.exists("etc/rancher/k3s/cluster-token");
        fresh.cleanup();
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            "k3s-multicloud [tokyo-1] ERROR: the join token given has no cluster CA hash (K10<hash>::<user>:<token>): with it this node would trust whatever answers at the server's address. The first server's ca-hash step reports the hash; run 'pulumi up' again once it has.\n",
        );
        assert.equal(written, false, "nothing written");
    });

    it("a joining server given its token in secure format since 0.4.0 writes it for its next start and restarts nothing", () => {
        const joining = serverSteps({ config: { role: "server", nodeName: "sh-2", privateIp: "172.17.61.147", publicIp: "47.100.1.11", serverUrl: "https://47.100.1.10:6443", options: {} } });
        const fresh = new ScriptSandbox();
        try {
            // What 0.3.0 wrote: the short token.
            fresh.plant("etc/rancher/k3s/cluster-token", `${TOKEN}\n`);
            const secure = `K10${"cd".repeat(32)}::server:${TOKEN}`;
            assert.equal(fresh.run(joining.install, { stdin: `${secure}\nagent-1\n` }).status, 0);
            fresh.clearCalls();
            fresh.plant("etc/rancher/k3s/cluster-token", `${TOKEN}\n`);
            const run = fresh.run(joining.install, { stdin: `${secure}\nagent-1\n` });
            assert.equal(run.status, 0, run.stderr);
            assert.equal(fresh.read("etc/rancher/k3s/cluster-token"), `${secure}\n`);
            assert.deepEqual(fresh.calls().filter((c) => c.startsWith("systemctl restart")), [], "the same credential in another form restarts nothing");
            // A short token for a joining server is refused, like an agent's.
            const short = fresh.run(joining.install, { stdin: `${TOKEN}\nagent-1\n` });
            assert.equal(short.status, 1);
            assert.match(short.stderr, /ERROR: the join token given has no cluster CA hash/);
        } finally {
            fresh.cleanup();
        }
    });

    it("an agent takes a new join token (the agent token, in secure format) without a restart", () => {
        const agent = new ScriptSandbox();
        try {
            assert.equal(agent.run(agentSteps().install, { stdin: `${AGENT_TOKEN}\n` }).status, 0);
            agent.clearCalls();
            const secure = `K10${"ab".repeat(32)}::node:agent-token-only-joins-agents-4b2e`;
            const run = agent.run(agentSteps().install, { stdin: `${secure}\n` });
            assert.equal(run.status, 0, run.stderr);
            assert.equal(run.stdout, "k3s-multicloud [tokyo-1] k3s v1.33.6+k3s1 and config unchanged, node Ready: wrote the new join token, which the agent uses from its next start; nothing else to do\n");
            assert.equal(agent.read("etc/rancher/k3s/cluster-token"), `${secure}\n`);
            assert.deepEqual(agent.calls().filter((c) => c.startsWith("systemctl")), []);
        } finally {
            agent.cleanup();
        }
    });

    it("refuses a silent change of the join token, without printing either token", () => {
        const run = box.run(serverSteps().install, { stdin: "another-token-7a1f\n" });
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            "k3s-multicloud [sh-server] ERROR: the join token given differs from the one this node runs with. k3s uses the server token to encrypt its datastore, so it is not changed by a redeploy: keep the stack's token, or rotate it deliberately with 'k3s token rotate' on the server (docs.k3s.io/cli/token) and then set the new value in the stack.\n",
        );
        assert.equal(box.read("etc/rancher/k3s/cluster-token"), `${TOKEN}\n`);
        assert.deepEqual(box.calls(), []);
    });
});
