/** What doctor's probe (probe.sh) saw on one host, parsed from its `<fact><TAB><value>` lines. */
export interface HostFacts {
    /** The host's clock, epoch seconds. */
    readonly now: number;
    readonly kernel: string;
    readonly wireguardKernel: boolean;
    /** The toolkit's id, or "none". */
    readonly toolkit: string;
    /** `cloud-init status` ("done", "running", "error"...), or "absent". */
    readonly cloudInit: string;
    /** k3s' units found on the host and their state (`systemctl is-active`). */
    readonly services: ReadonlyArray<{ readonly name: string; readonly state: string }>;
    readonly k3sVersion: string;
    /** `node-external-ip` from config.yaml, "" when absent. */
    readonly nodeExternalIp: string;
    /** Every IPv4 address on the host's interfaces (a NAT'd node's public /32 on lo among them). */
    readonly addresses: readonly string[];
    readonly flannelWg: boolean;
    /** flannel-wg's peers: endpoint (`host:port` or `(none)`), allowed IPs, last handshake (epoch, 0 = never). */
    readonly peers: ReadonlyArray<{ readonly endpoint: string; readonly allowedIps: string; readonly handshake: number }>;
    readonly nftTable: boolean;
    /** `ufw status` ("active", "inactive") or "absent". */
    readonly ufw: string;
    readonly diskFreeMb: number | undefined;
    /** k3s' certificates on the host and when each ends (epoch). */
    readonly certs: ReadonlyArray<{ readonly file: string; readonly notAfter: number }>;
    /** From this host to other members' ports. */
    readonly reach: ReadonlyArray<{ readonly node: string; readonly port: number; readonly open: boolean }>;
    /** Servers: every Node as the API shows it; "unreachable" when the API did not answer; undefined on agents. */
    readonly apiNodes: ReadonlyArray<ApiNode> | "unreachable" | undefined;
}

export interface ApiNode {
    readonly name: string;
    /** The Ready condition's status: "True", "False", "Unknown". */
    readonly ready: string;
    /** flannel.alpha.coreos.com/public-ip: the address flannel advertises. */
    readonly publicIp: string;
    /** flannel.alpha.coreos.com/public-ip-overwrite. */
    readonly overwrite: string;
}

/** Parses the probe's output. Unknown lines are ignored (a newer probe may say more). */
export function parseProbe(output: string): HostFacts {
    const single = new Map<string, string>();
    const services: Array<{ name: string; state: string }> = [];
    const peers: Array<{ endpoint: string; allowedIps: string; handshake: number }> = [];
    const certs: Array<{ file: string; notAfter: number }> = [];
    const reach: Array<{ node: string; port: number; open: boolean }> = [];
    const apiNodes: ApiNode[] = [];
    let apiUnreachable = false;
    for (const line of output.split("\n")) {
        const fields = line.split("\t");
        const [fact, value = ""] = fields;
        switch (fact) {
            case "service": {
                const [name, state = ""] = value.split(" ");
                services.push({ name, state });
                break;
            }
            case "peer":
                peers.push({ endpoint: fields[1] ?? "", allowedIps: fields[2] ?? "", handshake: Number(fields[3] ?? 0) });
                break;
            case "cert": {
                const [file, notAfter] = value.split(" ");
                certs.push({ file, notAfter: Number(notAfter) });
                break;
            }
            case "reach": {
                const [node, port, state] = value.split(" ");
                reach.push({ node, port: Number(port), open: state === "open" });
                break;
            }
            case "node":
                apiNodes.push({ name: fields[1] ?? "", ready: fields[2] ?? "", publicIp: fields[3] ?? "", overwrite: fields[4] ?? "" });
                break;
            case "api":
                apiUnreachable = true;
                break;
            default:
                if (fact) single.set(fact, value);
        }
    }
    const disk = single.get("disk-free-mb");
    return {
        now: Number(single.get("now") ?? 0),
        kernel: single.get("kernel") ?? "",
        wireguardKernel: single.get("wireguard-kernel") === "yes",
        toolkit: single.get("toolkit") || "none",
        cloudInit: single.get("cloud-init") || "absent",
        services,
        k3sVersion: single.get("k3s-version") ?? "",
        nodeExternalIp: single.get("node-external-ip") ?? "",
        addresses: (single.get("addresses") ?? "").split(",").filter(Boolean),
        flannelWg: single.get("flannel-wg") === "up",
        peers,
        nftTable: single.get("nft-table") === "loaded",
        ufw: single.get("ufw") || "absent",
        diskFreeMb: disk ? Number(disk) : undefined,
        certs,
        reach: reach.sort((a, b) => a.node.localeCompare(b.node) || a.port - b.port),
        apiNodes: apiUnreachable ? "unreachable" : apiNodes.length > 0 ? apiNodes : undefined,
    };
}
