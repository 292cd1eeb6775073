import { strict as assert } from "node:assert";
import { parse } from "yaml";
import { K3S_YAML, assertConfigError } from "../harness/fixtures";
import { renderNodeConfig, serverUrlFor } from "../../components/k3s/nodeConfig";
import { AGENT_KEYS, SERVER_ONLY_KEYS } from "../../components/k3s/k3sFlags";
import { validateExtraKey, validateK3sOptions } from "../../components/k3s/options";
import { parseK3sVersion } from "../../components/k3s/version";
import { kubeconfigForPublicEndpoint } from "../../components/k3s/kubeconfig";
import { resolveInstallMirror } from "../../components/k3s/installSource";

const HEADER =
    "# Rendered by k3s-multicloud. Edits on the host are overwritten by the next `pulumi up`; change the stack instead.";

const rejects = assertConfigError;

describe("k3s config renderer", () => {
    it("renders a server behind NAT (SWAS): private node-ip, public node-external-ip, WireGuard over public IPs", () => {
        const yaml = renderNodeConfig({
            role: "server",
            nodeName: "sh-server",
            privateIp: "172.17.61.146",
            publicIp: "47.100.1.10",
            options: { disable: ["traefik"], tlsSans: ["k8s.example.com"] },
        });
        assert.equal(
            yaml,
            [
                HEADER,
                "token-file: /etc/rancher/k3s/cluster-token",
                // Servers only: the agent token, the one credential agents get.
                "agent-token-file: /etc/rancher/k3s/agent-token",
                "node-name: sh-server",
                "node-ip: 172.17.61.146",
                "node-external-ip: 47.100.1.10",
                "flannel-backend: wireguard-native",
                "flannel-external-ip: true",
                "tls-san:",
                "  - 47.100.1.10",
                "  - k8s.example.com",
                "disable:",
                "  - traefik",
                "",
            ].join("\n"),
        );
    });

    it("renders a Vultr agent with the public IP on the NIC, joining the server's public IP", () => {
        const yaml = renderNodeConfig({
            role: "agent",
            nodeName: "tokyo-1",
            privateIp: "104.156.140.173",
            publicIp: "104.156.140.173",
            serverUrl: serverUrlFor("47.100.1.10"),
            nodeLabels: { "topology.kubernetes.io/region": "nrt", "k3s-multicloud/cloud": "vultr" },
            options: { disable: ["traefik"] },
        });
        assert.equal(
            yaml,
            [
                HEADER,
                "server: https://47.100.1.10:6443",
                "token-file: /etc/rancher/k3s/cluster-token",
                "node-name: tokyo-1",
                "node-ip: 104.156.140.173",
                "node-external-ip: 104.156.140.173",
                "node-label:",
                "  - k3s-multicloud/cloud=vultr",
                "  - topology.kubernetes.io/region=nrt",
                "",
            ].join("\n"),
        );
    });

    it("renders an agent on an existing server with a private address and a taint", () => {
        const yaml = renderNodeConfig({
            role: "agent",
            nodeName: "home-1",
            privateIp: "192.168.1.20",
            publicIp: "203.0.113.10",
            serverUrl: "https://47.100.1.10:6443",
            nodeTaints: ["dedicated=home:NoSchedule"],
            options: { agentExtraConfig: { "kubelet-arg": ["max-pods=50"] } },
        });
        assert.equal(
            yaml,
            [
                HEADER,
                "server: https://47.100.1.10:6443",
                "token-file: /etc/rancher/k3s/cluster-token",
                "node-name: home-1",
                "node-ip: 192.168.1.20",
                "node-external-ip: 203.0.113.10",
                "node-taint:",
                "  - dedicated=home:NoSchedule",
                "kubelet-arg:",
                "  - max-pods=50",
                "",
            ].join("\n"),
        );
    });

    it("renders IPVS with servicelb disabled, and extra server keys sorted", () => {
        const options = {
            kubeProxyMode: "ipvs" as const,
            disable: ["traefik", "servicelb"],
            extraConfig: { "write-kubeconfig-mode": "0600", "cluster-cidr": "10.52.0.0/16" },
        };
        validateK3sOptions("cluster.options", options);
        const yaml = renderNodeConfig({
            role: "server",
            nodeName: "sh-server",
            privateIp: "172.17.61.146",
            publicIp: "47.100.1.10",
            clusterInit: true,
            options,
        });
        assert.equal(
            yaml,
            [
                HEADER,
                "token-file: /etc/rancher/k3s/cluster-token",
                // Servers only: the agent token, the one credential agents get.
                "agent-token-file: /etc/rancher/k3s/agent-token",
                "node-name: sh-server",
                "node-ip: 172.17.61.146",
                "node-external-ip: 47.100.1.10",
                "cluster-init: true",
                "flannel-backend: wireguard-native",
                "flannel-external-ip: true",
                "tls-san:",
                "  - 47.100.1.10",
                "disable:",
                "  - servicelb",
                "  - traefik",
                "kube-proxy-arg:",
                "  - proxy-mode=ipvs",
                "  - masquerade-all=true",
                "cluster-cidr: 10.52.0.0/16",
                'write-kubeconfig-mode: "0600"',
                "",
            ].join("\n"),
        );
    });

    it("gives the same bytes for the same input, whatever order labels arrive in", () => {
        const base = { role: "agent" as const, nodeName: "a", privateIp: "10.0.0.1", publicIp: "203.0.113.1", serverUrl: "https://203.0.113.2:6443", options: {} };
        assert.equal(
            renderNodeConfig({ ...base, nodeLabels: { b: "2", a: "1" } }),
            renderNodeConfig({ ...base, nodeLabels: { a: "1", b: "2" } }),
        );
    });

    it("renders only keys k3s knows for the role", () => {
        const server = renderNodeConfig({ role: "server", nodeName: "s", privateIp: "10.0.0.1", publicIp: "203.0.113.1", clusterInit: true, options: { kubeProxyMode: "ipvs", disable: ["servicelb"], tlsSans: ["x"] }, nodeLabels: { a: "b" }, nodeTaints: ["k=v:NoSchedule"] });
        const agent = renderNodeConfig({ role: "agent", nodeName: "a", privateIp: "10.0.0.1", publicIp: "203.0.113.1", serverUrl: "https://203.0.113.2:6443", options: { kubeProxyMode: "ipvs", disable: ["servicelb"] }, nodeLabels: { a: "b" }, nodeTaints: ["k=v:NoSchedule"] });
        const keysOf = (yaml: string) => yaml.split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => l.split(":")[0]);
        for (const key of keysOf(server)) assert.ok([...AGENT_KEYS, ...SERVER_ONLY_KEYS].includes(key), `server key ${key}`);
        for (const key of keysOf(agent)) assert.ok(AGENT_KEYS.includes(key), `agent key ${key}`);
        assert.deepEqual(keysOf(agent), ["server", "token-file", "node-name", "node-ip", "node-external-ip", "kube-proxy-arg", "node-label", "node-taint"]);
    });
});

describe("YAML scalars that are not plainly safe are quoted", () => {
    it("quotes what YAML would read as a map, a boolean, null or a number, and leaves plain words bare", () => {
        const config = renderNodeConfig({
            role: "server",
            nodeName: "s",
            privateIp: "10.0.0.1",
            publicIp: "203.0.113.1",
            options: { tlsSans: ["evil:", "y", "N", "~", "1e3", "0x1F", "@here", "k8s.example.com", "2001:db8::1"] },
        });
        const sans = config.split("tls-san:\n")[1].split("\n").filter((l) => l.startsWith("  - "));
        assert.deepEqual(sans, [
            "  - 203.0.113.1",
            '  - "evil:"',
            '  - "y"',
            '  - "N"',
            '  - "~"',
            '  - "1e3"',
            '  - "0x1F"',
            '  - "@here"',
            "  - k8s.example.com",
            "  - 2001:db8::1",
        ]);
        // Read back by a YAML parser, every entry is the same string again.
        assert.deepEqual(parse(config)["tls-san"], ["203.0.113.1", "evil:", "y", "N", "~", "1e3", "0x1F", "@here", "k8s.example.com", "2001:db8::1"]);
    });
});

describe("k3s option errors", () => {
    it("rejects IPVS while ServiceLB is enabled, saying why", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { kubeProxyMode: "ipvs", disable: ["traefik"] }),
            'cluster.options.kubeProxyMode = "ipvs": IPVS with ServiceLB enabled black-holes traffic between nodes: IPVS binds every LoadBalancer IP to kube-ipvs0 on each node, and ServiceLB publishes the nodes\' own IPs as LoadBalancer IPs, so nodes stop reaching each other and go NotReady once a LoadBalancer Service exists (k3s #5000, #7183). Add "servicelb" to disable (and use another load balancer), or keep kubeProxyMode "iptables".',
        );
    });

    it("rejects a China registry mirror that is not a plain http(s) URL (it goes into YAML and to curl on the node)", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { chinaRegistryMirrors: ["https://ok.example.com", "registry.example.com\"; rm -rf /"] }),
            'cluster.options.chinaRegistryMirrors[1] = "registry.example.com\\"; rm -rf /": is not a registry URL. Write it as https://<host>[:port][/path], e.g. "https://registry.cn-hangzhou.aliyuncs.com".',
        );
        rejects(
            () => validateK3sOptions("cluster.options", { chinaRegistryMirrors: [] }),
            'cluster.options.chinaRegistryMirrors = "[]": is empty. List at least one mirror, e.g. ["https://registry.cn-hangzhou.aliyuncs.com"], or leave it out for that default.',
        );
        // Plain http only when asked for: anyone on the path could swap the system images.
        rejects(
            () => validateK3sOptions("cluster.options", { chinaRegistryMirrors: ["http://mirror.example.cn"] }),
            'cluster.options.chinaRegistryMirrors[0] = "http://mirror.example.cn": is plain http: anyone on the way between the node and the mirror could serve it other images. Use the mirror\'s https:// URL, or set insecureRegistryMirrors: true if you accept that (a mirror inside your own network).',
        );
        assert.doesNotThrow(() => validateK3sOptions("cluster.options", { chinaRegistryMirrors: ["http://10.0.0.5:5000"], insecureRegistryMirrors: true }));
    });

    it("rejects an unknown metrics-server choice", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { metricsServer: "public" as never }),
            'cluster.options.metricsServer = "public": is not a metrics-server choice. Use "packaged" (default: k3s\' own) or "external-ip".',
        );
    });

    it("rejects the removed wireguard backend", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { extraConfig: { "flannel-backend": "wireguard" } }),
            'cluster.options.extraConfig.flannel-backend = "wireguard": the wireguard flannel backend was removed in k3s v1.26. Remove it: this project always renders flannel-backend: wireguard-native, its replacement.',
        );
    });

    it("rejects VXLAN across the internet", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { extraConfig: { "flannel-backend": "vxlan" } }),
            'cluster.options.extraConfig.flannel-backend = "vxlan": the flannel backend is not configurable here. Remove it: this project always renders flannel-backend: wireguard-native, the only backend that is encrypted and crosses NAT between clouds (VXLAN would send pod traffic in the clear over the internet).',
        );
    });

    it("rejects an unknown key", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { extraConfig: { "cluster-cdir": "10.52.0.0/16" } }),
            'cluster.options.extraConfig.cluster-cdir = "10.52.0.0/16": is not a k3s configuration key. Use a flag name from `k3s server --help` without the leading dashes, e.g. "cluster-cidr".',
        );
    });

    it("checks the pod and service networks before the host firewall opens k3s' ports to them", () => {
        const cidrs = (extraConfig: Record<string, string>) => () => validateK3sOptions("cluster.options", { extraConfig });
        rejects(
            cidrs({ "cluster-cidr": "0.0.0.0/0" }),
            'cluster.options.extraConfig.cluster-cidr = "0.0.0.0/0": is a /0; a cluster-cidr must be from /8 to /23. Use e.g. "10.42.0.0/16".',
        );
        rejects(
            cidrs({ "cluster-cidr": "198.51.0.0/16" }),
            'cluster.options.extraConfig.cluster-cidr = "198.51.0.0/16": is not private address space, and every node\'s firewall accepts k3s\' ports from it. Use a block inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10, e.g. "10.42.0.0/16".',
        );
        rejects(
            cidrs({ "cluster-cidr": "10.42.0.0/16,fd00:42::/56" }),
            'cluster.options.extraConfig.cluster-cidr = "10.42.0.0/16,fd00:42::/56": holds an IPv6 block (dual-stack): k3s refuses to start when cluster-cidr and node-ip differ in IP version, and every node here has one IPv4 node-ip (and one IPv4 public address for the WireGuard mesh). Use one IPv4 block, e.g. "10.42.0.0/16".',
        );
        rejects(
            cidrs({ "service-cidr": "10.0.0.0/8" }),
            'cluster.options.extraConfig.service-cidr = "10.0.0.0/8": is a /8; a service-cidr must be from /12 to /28. Use e.g. "10.43.0.0/16".',
        );
        rejects(
            cidrs({ "service-cidr": "10.42.128.0/20" }),
            'cluster.options.extraConfig.service-cidr = "10.42.128.0/20": overlaps the pod network 10.42.0.0/16. Give pods and services separate blocks, e.g. cluster-cidr "10.42.0.0/16" and service-cidr "10.43.0.0/16".',
        );
        rejects(cidrs({ "cluster-cidr": "10.42.0.1/16" }), 'cluster.options.extraConfig.cluster-cidr = "10.42.0.1/16": has host bits set below the /16 prefix. Use the network address: "10.42.0.0/16".');
        assert.doesNotThrow(cidrs({ "cluster-cidr": "100.64.0.0/16", "service-cidr": "172.20.0.0/16" }));
    });

    it("rejects a server-only key on an agent", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { agentExtraConfig: { "cluster-cidr": "10.52.0.0/16" } }),
            'cluster.options.agentExtraConfig.cluster-cidr = "10.52.0.0/16": is a server-only key and this node is an agent. Move it to extraConfig, which applies to servers only.',
        );
    });

    it("rejects a key the renderer owns, and a credential in plain config", () => {
        rejects(
            () => validateExtraKey("x", "node-external-ip", "1.2.3.4", "agent"),
            'x.node-external-ip = "1.2.3.4": is rendered by this project. Remove it from extraConfig: it comes from the host\'s publicIp.',
        );
        rejects(
            () => validateExtraKey("x", "datastore-endpoint", "mysql://u:p@h/db", "server"),
            'x.datastore-endpoint = "(hidden)": holds a credential, and config.yaml is shown in plain text in every preview. Put it in a file on the host and use the matching *-file key, or leave it out.',
        );
    });

    it("never repeats a token given in extraConfig", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { extraConfig: { token: "K10abc::server:s3cr3t" } }),
            "cluster.options.extraConfig.token = \"(hidden)\": is rendered by this project. Remove it from extraConfig: the cluster's generated token is written to token-file.",
        );
    });

    it("rejects a component k3s does not package", () => {
        rejects(
            () => validateK3sOptions("cluster.options", { disable: ["ingress"] }),
            'cluster.options.disable[0] = "ingress": is not a packaged k3s component. Use one of coredns, servicelb, traefik, local-storage, metrics-server, runtimes.',
        );
    });
});

describe("k3s version pinning", () => {
    it("parses a pinned release", () => {
        assert.deepEqual(parseK3sVersion("v", "v1.33.6+k3s1"), { text: "v1.33.6+k3s1", major: 1, minor: 33, patch: 6, k3sRevision: 1 });
    });

    it("refuses channels and malformed versions", () => {
        rejects(
            () => parseK3sVersion("k3sVersion", "stable"),
            'k3sVersion = "stable": is not a pinned k3s release (vMAJOR.MINOR.PATCH+k3sN). Pin a release from https://github.com/k3s-io/k3s/releases, e.g. "v1.33.6+k3s1"; channels such as "stable" are not accepted.',
        );
        assert.throws(() => parseK3sVersion("k3sVersion", "1.33.6+k3s1"), /is not a pinned k3s release/);
    });

    it("refuses releases before wireguard-native and minors whose flags are unchecked", () => {
        rejects(
            () => parseK3sVersion("k3sVersion", "v1.22.5+k3s1"),
            'k3sVersion = "v1.22.5+k3s1": predates the wireguard-native flannel backend (first in v1.23.6+k3s1), which this project uses to encrypt traffic between clouds. Use a supported release: v1.31 to v1.35.',
        );
        rejects(
            () => parseK3sVersion("k3sVersion", "v1.28.15+k3s1"),
            'k3sVersion = "v1.28.15+k3s1": is k3s 1.28, whose flag list this project has not checked (supported: 1.31, 1.32, 1.33, 1.34, 1.35). Use a release of a supported minor, e.g. v1.35.x+k3s1 (see its releases), or a release of this library that supports 1.28.',
        );
    });
});

describe("kubeconfig rewrite", () => {
    const k3sYaml = K3S_YAML;

    it("points at the public IP and names everything after the cluster", () => {
        assert.equal(
            kubeconfigForPublicEndpoint(k3sYaml, "47.100.1.10", "prod"),
            [
                "apiVersion: v1",
                "clusters:",
                "- cluster:",
                "    certificate-authority-data: Q0EtREFUQQ==",
                "    server: https://47.100.1.10:6443",
                "  name: prod",
                "contexts:",
                "- context:",
                "    cluster: prod",
                "    user: prod",
                "  name: prod",
                "current-context: prod",
                "kind: Config",
                "preferences: {}",
                "users:",
                "- name: prod",
                "  user:",
                "    client-certificate-data: Q0VSVA==",
                "    client-key-data: S0VZ",
                "",
            ].join("\n"),
        );
    });

    it("fails when the text is not a k3s kubeconfig", () => {
        assert.throws(
            () => kubeconfigForPublicEndpoint("sudo: a password is required\n", "47.100.1.10", "prod"),
            { message: "the server's kubeconfig has no `server: https://127.0.0.1:6443` line; k3s.yaml was not read correctly" },
        );
    });
});

describe("install source", () => {
    it("uses the China mirror for mainland Alibaba regions only, unless told otherwise", () => {
        assert.equal(resolveInstallMirror("auto", "aliyun", "cn-shanghai"), "cn");
        assert.equal(resolveInstallMirror("auto", "aliyun", "cn-hongkong"), "github");
        assert.equal(resolveInstallMirror("auto", "aliyun", "ap-southeast-1"), "github");
        assert.equal(resolveInstallMirror("auto", "vultr", "cn-shanghai"), "github");
        assert.equal(resolveInstallMirror("github", "aliyun", "cn-beijing"), "github");
        assert.equal(resolveInstallMirror("cn", "existing", "home"), "cn");
    });
});
