import type { ClusterNodeInfo } from "../k3s/k3sCluster";
import { HostFacts } from "./facts";

/** A node as the stack's `nodes` output describes it (no credential): what doctor needs of it. */
export type DoctorNode = Pick<ClusterNodeInfo, "name" | "role" | "publicIp" | "privateIp" | "behindNat" | "sshUser" | "sshPort" | "hostKey">;

export type Verdict = "ok" | "warn" | "fail";

/** One row of the report: a node, a check, what was seen, and the fix in one line. */
export interface CheckRow {
    readonly node: string;
    readonly check: string;
    readonly verdict: Verdict;
    readonly seen: string;
    /** What to do, with the docs section that explains it; empty when ok. */
    readonly fix: string;
}

/** What doctor got from one node: the probe's facts (and when doctor asked, epoch seconds), or why there are none. */
export type ProbeResult = { readonly facts: HostFacts; readonly askedAt: number } | { readonly error: string; readonly hostKeyChanged: boolean };

/** WireGuard re-handshakes every 2 minutes on a used tunnel (k3s keeps it used): older means the path is broken. */
const MAX_HANDSHAKE_AGE = 180;
const CLOCK_SKEW_WARN = 30;
const DISK_WARN_MB = 2048;
const DISK_FAIL_MB = 256;
const CERT_WARN_DAYS = 30;

/**
 * Every check for every node, from what the probes saw. Pure: the same facts give the same rows. A node's clock is
 * compared with this machine's at the moment doctor asked; `reachableFromHere` is what doctor itself reached (node ->
 * ports open from this machine).
 */
export function diagnose(
    nodes: readonly DoctorNode[],
    results: ReadonlyMap<string, ProbeResult>,
    options: { readonly k3sVersion: string; readonly reachableFromHere?: ReadonlyMap<string, readonly number[]> },
): CheckRow[] {
    const rows: CheckRow[] = [];
    // The API's view comes from the first server that answered.
    const api = nodes
        .filter((n) => n.role === "server")
        .map((n) => results.get(n.name))
        .map((r) => (r && "facts" in r ? r.facts.apiNodes : undefined))
        .find((v) => v !== undefined);
    for (const node of nodes) {
        const row = (check: string, verdict: Verdict, seen: string, fix = "") => rows.push({ node: node.name, check, verdict, seen, fix: verdict === "ok" ? "" : fix });
        const result = results.get(node.name);
        if (!result || "error" in result) {
            const changed = result !== undefined && result.hostKeyChanged;
            row(
                "ssh",
                "fail",
                result ? result.error : "not probed",
                changed
                    ? 'the host presents another key than the one pinned: if you reinstalled it, re-learn the key (docs/operations.md, "A host key that changed"); otherwise someone may be between you and it'
                    : `check that ${node.publicIp}:${node.sshPort} answers SSH from here and the credentials in the stack's config`,
            );
            continue;
        }
        const f = result.facts;
        row("ssh", "ok", `${node.sshUser}@${node.publicIp}:${node.sshPort}${node.hostKey ? ", host key as pinned" : ", host key not checked (insecureIgnoreHostKey)"}`);

        if (f.flannelWg) row("wireguard", "ok", `flannel-wg up (kernel ${f.kernel})`);
        else if (!f.wireguardKernel) row("wireguard", "fail", `kernel ${f.kernel} has no WireGuard`, 'upgrade the kernel (cluster option wireguardKernel: "upgrade"), docs/operations.md "A kernel without WireGuard"');
        else row("wireguard", "fail", "no flannel-wg interface: flannel is not running", "see k3s-service; `journalctl -u k3s` (servers) or `-u k3s-agent` on the node");

        row("toolkit", f.toolkit === "none" ? "warn" : "ok", f.toolkit === "none" ? "no k3s-multicloud toolkit in /opt/k3s-multicloud" : `toolkit ${f.toolkit}`, "`pulumi up` delivers it (the node's prepare step)");
        if (f.cloudInit !== "absent") {
            row("cloud-init", f.cloudInit === "done" ? "ok" : "warn", `cloud-init ${f.cloudInit || "(no status)"}`, "`cloud-init status --long` on the node");
        }

        const unit = node.role === "server" ? "k3s" : "k3s-agent";
        const service = f.services.find((s) => s.name === unit);
        if (service?.state === "active") row("k3s-service", "ok", `${unit} active`);
        else row("k3s-service", "fail", service ? `${unit} ${service.state || "not active"}` : `${unit} not installed`, `\`systemctl start ${unit}\` and read \`journalctl -u ${unit}\`; a node that never installed needs \`pulumi up\``);
        row("k3s-version", f.k3sVersion === options.k3sVersion ? "ok" : "warn", `runs ${f.k3sVersion || "no k3s"}; the stack pins ${options.k3sVersion}`, '`pulumi up` applies the pinned version (docs/operations.md, "Upgrade k3s")');

        if (api === "unreachable") row("node-ready", "fail", "the API on the servers did not answer", "see the servers' k3s-service rows");
        else if (api) {
            const seen = api.find((n) => n.name === node.name);
            if (!seen) row("node-ready", "fail", "no Node object in the API", 'the node never joined, or was deleted: `pulumi up` (docs/operations.md, "A join that cannot finish")');
            else row("node-ready", seen.ready === "True" ? "ok" : "fail", `Ready=${seen.ready || "unknown"}`, "see k3s-service and mesh rows of this node");
            if (seen) {
                const right = seen.publicIp === node.publicIp && seen.overwrite === node.publicIp;
                row(
                    "flannel-address",
                    right ? "ok" : "fail",
                    `flannel advertises ${seen.publicIp || "nothing"}, public-ip-overwrite ${seen.overwrite || "unset"}; the public address is ${node.publicIp}`,
                    'flannel reads the annotation at start: `pulumi up` sets it and restarts k3s on the node (docs/annotations.md, "Node annotations as resources")',
                );
            }
        }

        row(
            "node-external-ip",
            f.nodeExternalIp === node.publicIp ? "ok" : "fail",
            `config.yaml: ${f.nodeExternalIp || "(none)"}; the public address is ${node.publicIp}`,
            "`pulumi up` renders it and restarts k3s; without it a NAT'd node advertises its private address",
        );
        if (node.behindNat) {
            const bound = f.addresses.includes(node.publicIp);
            row("nat-address", bound ? "ok" : "warn", bound ? `${node.publicIp} bound locally (pods reach the API without hairpin NAT)` : `${node.publicIp} is not on any interface`, "`pulumi up` binds it (the prepare step); until then pods here may not reach the API they are told of");
        }

        meshRows(node, nodes, f, row);

        // The API must reach every kubelet... and members the servers' API; a kubelet out of reach (a home router
        // that forwards only SSH and WireGuard) costs logs, exec and metrics, not the mesh.
        const closed = f.reach.filter((r) => !r.open && (r.port === 10250 || nodes.find((n) => n.name === r.node)?.role === "server"));
        for (const target of closed) {
            if (target.port === 6443) {
                row("reach", "fail", `cannot reach ${target.node}:6443/tcp (the API)`, `the host or cloud firewall of ${target.node} drops members (docs/security.md, "Ports"); \`pulumi up\` reprograms both`);
            } else {
                const behindNat = nodes.find((n) => n.name === target.node)?.behindNat;
                row(
                    "reach",
                    "warn",
                    `cannot reach ${target.node}:10250/tcp (its kubelet)`,
                    behindNat
                        ? `forward 10250/tcp to ${target.node} on its router for kubectl logs, exec and top (docs/operations.md, "kubectl top across clouds")`
                        : `the host or cloud firewall of ${target.node} drops members (docs/security.md, "Ports"); \`pulumi up\` reprograms both`,
                );
            }
        }
        if (f.reach.length > 0 && closed.length === 0) {
            row("reach", "ok", `reaches every member's k3s ports (${new Set(f.reach.map((r) => r.node)).size} members)`);
        }
        const fromHere = options.reachableFromHere?.get(node.name) ?? [];
        if (fromHere.includes(10250)) row("exposure", "warn", "10250/tcp (kubelet) answers this machine, which is not a member", 'the host firewall admits members only: is it loaded? (docs/security.md, "Ports")');
        else if (options.reachableFromHere) row("exposure", "ok", "10250/tcp (kubelet) closed to this machine, which is not a member");

        row("host-firewall", f.nftTable ? "ok" : "fail", `nftables table ${f.nftTable ? "loaded" : "missing"}; ufw ${f.ufw}`, "`systemctl start multicloud-k3s-firewall` or `pulumi up`");
        const skew = Math.abs(f.now - result.askedAt);
        row("clock", skew > CLOCK_SKEW_WARN ? "warn" : "ok", `${skew} s from this machine`, "enable time sync (`timedatectl set-ntp true`): TLS and tokens need clocks within seconds");
        if (f.diskFreeMb !== undefined) {
            const verdict: Verdict = f.diskFreeMb < DISK_FAIL_MB ? "fail" : f.diskFreeMb < DISK_WARN_MB ? "warn" : "ok";
            row("disk", verdict, `${f.diskFreeMb} MB free for /var/lib/rancher`, "free space: kubelet evicts pods and k3s' datastore stops when the disk fills");
        }
        if (f.certs.length > 0) {
            const first = [...f.certs].sort((a, b) => a.notAfter - b.notAfter)[0];
            const days = Math.floor((first.notAfter - f.now) / 86400);
            const verdict: Verdict = days < 0 ? "fail" : days < CERT_WARN_DAYS ? "warn" : "ok";
            row("certificates", verdict, `${first.file} ends in ${days} days`, "k3s renews its certificates when it starts within 90 days of the end: restart k3s on the node (`k3s certificate rotate`)");
        }
    }
    const order: Record<Verdict, number> = { fail: 0, warn: 1, ok: 2 };
    return rows.sort((a, b) => order[a.verdict] - order[b.verdict]);
}

/** The mesh as this node sees it: each other member a peer at its public address, with a recent handshake. */
function meshRows(node: DoctorNode, nodes: readonly DoctorNode[], f: HostFacts, row: (check: string, verdict: Verdict, seen: string, fix?: string) => void): void {
    if (!f.flannelWg) return;
    const hostOf = (endpoint: string) => (endpoint === "(none)" ? "" : endpoint.replace(/:\d+$/, "").replace(/^\[|\]$/g, ""));
    const used = new Set<number>();
    for (const other of nodes.filter((n) => n.name !== node.name)) {
        const atPublic = f.peers.findIndex((p) => hostOf(p.endpoint) === other.publicIp);
        const atPrivate = other.privateIp !== other.publicIp ? f.peers.findIndex((p) => hostOf(p.endpoint) === other.privateIp) : -1;
        if (atPublic >= 0) {
            used.add(atPublic);
            const peer = f.peers[atPublic];
            const age = peer.handshake === 0 ? undefined : f.now - peer.handshake;
            if (age !== undefined && age <= MAX_HANDSHAKE_AGE) row("mesh", "ok", `${other.name} at ${peer.endpoint}, handshake ${age} s ago`);
            else
                row(
                    "mesh",
                    "fail",
                    `${other.name} at ${peer.endpoint}, ${age === undefined ? "no handshake ever" : `last handshake ${age} s ago`}`,
                    `UDP 51820 between ${node.name} and ${other.name} is blocked somewhere (cloud firewall, home router forward): WireGuard answers strangers nothing, so only the handshake tells`,
                );
        } else if (atPrivate >= 0) {
            used.add(atPrivate);
            row(
                "mesh",
                "fail",
                `${other.name} at its private address ${f.peers[atPrivate].endpoint}`,
                `${other.name} advertises its private address: its node-external-ip or public-ip-overwrite is missing (see its rows); \`pulumi up\` fixes both and restarts k3s there`,
            );
        } else {
            row("mesh", "fail", `${other.name} is not a WireGuard peer`, `${other.name} is not in the mesh: see its k3s-service and flannel-address rows`);
        }
    }
    // A peer of no member that still routes a pod subnet sends that traffic nowhere; one that routes nothing is
    // only clutter (what the prune step removes).
    const stale = f.peers.filter((_, i) => !used.has(i));
    const routing = stale.filter((p) => p.allowedIps !== "" && p.allowedIps !== "(none)");
    if (stale.length > 0) {
        row(
            "stale-peers",
            routing.length > 0 ? "fail" : "warn",
            `${stale.length} peer(s) of no member: ${stale.map((p) => `${p.endpoint} (${p.allowedIps === "" || p.allowedIps === "(none)" ? "routes nothing" : `routes ${p.allowedIps}`})`).join(", ")}`,
            routing.length > 0
                ? "a node that left (or an old key of one) still holds a pod subnet here: delete its Node object (`kubectl delete node <name>`) so flannel withdraws the peer, or remove it (`wg set flannel-wg peer <key> remove`)"
                : "`pulumi up` prunes peers that route nothing (the prune step)",
        );
    } else {
        row("stale-peers", "ok", "every peer is a member");
    }
}
