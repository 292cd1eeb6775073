import { AliyunLightweightServer, ExistingServer, K3sCluster, K3sClusterArgs, VultrServer } from "../../components";
import { CloudFixture } from "./mockCloud";
import { HOST_KEY, K3S_YAML, SECRETS, SSH_PUBLIC_KEY, secret } from "./fixtures";

/** Addresses of the standard three-node cluster: SWAS server behind NAT, Vultr agent, existing agent behind NAT. */
export const ADDRESSES = {
    server: { publicIp: "47.100.1.10", privateIp: "172.17.61.146" },
    vultr: { mainIp: "104.156.140.173" },
    home: { publicIp: "203.0.113.10", privateIp: "192.168.1.20" },
};

export function clusterCloudFixture(overrides: { serverPublicIp?: string; vultrIp?: string } = {}): CloudFixture {
    return {
        swas: { "sh-server": { ...ADDRESSES.server, publicIp: overrides.serverPublicIp ?? ADDRESSES.server.publicIp } },
        vultr: { "tokyo-1": { mainIp: overrides.vultrIp ?? ADDRESSES.vultr.mainIp } },
        outputs: { "dev-sh-server-kubeconfig": { stdout: K3S_YAML } },
    };
}

/** The standard cluster's three hosts. */
export function buildClusterHosts() {
    const server = new AliyunLightweightServer("sh-server", { region: "cn-shanghai", planId: "swas.s2.c2m2s40b4t1", imageId: "image-ubuntu-2204" });
    const tokyo = new VultrServer("tokyo-1", {
        region: "nrt",
        plan: "vc2-1c-2gb",
        osId: 2284,
        sshPublicKey: SSH_PUBLIC_KEY,
        sshPrivateKey: secret(SECRETS.vultrPrivateKey),
    });
    const home = new ExistingServer("home-1", {
        publicIp: ADDRESSES.home.publicIp,
        privateIp: ADDRESSES.home.privateIp,
        location: "home-lab",
        user: "ubuntu",
        privateKey: secret(SECRETS.existingPrivateKey),
        hostKey: HOST_KEY,
    });
    return { server, tokyo, home };
}

/** Builds the standard cluster "dev" the way a program would. */
export function buildCluster(extra: Partial<K3sClusterArgs> = {}) {
    const { server, tokyo, home } = buildClusterHosts();
    const cluster = new K3sCluster("dev", {
        k3sVersion: "v1.33.6+k3s1",
        servers: [server.host],
        agents: [tokyo.host, home.host],
        options: { disable: ["traefik"] },
        ...extra,
    });
    return { server, tokyo, home, cluster };
}
