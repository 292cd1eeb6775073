import { StackConfig, NodeConfig } from "../stacks/stackConfig";

const TEST_NETS = ["192.0.2", "198.51.100", "203.0.113"];
const BENCH_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJlbmNoLWhvc3Qta2V5LW9mLWFuLWV4aXN0aW5nLW5vZGU";

/**
 * A stack of `size` nodes over all three host kinds: one SWAS server, then agents cycling Vultr, existing, SWAS.
 * Existing servers get documentation addresses (no traffic is ever sent: the program runs under mocks).
 */
export function generateStack(size: number, variant: { taintFirstAgent?: boolean } = {}): StackConfig {
    const nodes: NodeConfig[] = [
        { name: "server-0", role: "server", cloud: "aliyun", region: "cn-shanghai", planId: "swas.s2.c2m2s40b4t1", imageId: "image-ubuntu-2204" },
    ];
    for (let i = 1; i < size; i++) {
        const kind = i % 3;
        if (kind === 1) nodes.push({ name: `vultr-${i}`, role: "agent", cloud: "vultr", region: "nrt", plan: "vc2-1c-2gb", osId: 2284 });
        else if (kind === 2) nodes.push({ name: `home-${i}`, role: "agent", cloud: "existing", publicIp: `${TEST_NETS[Math.floor(i / 250) % 3]}.${(i % 250) + 1}`, location: "home-lab", hostKey: BENCH_HOST_KEY });
        else nodes.push({ name: `swas-${i}`, role: "agent", cloud: "aliyun", region: "cn-hangzhou", planId: "swas.s2.c2m2s40b4t1", imageId: "image-ubuntu-2204" });
    }
    const firstAgent = nodes[1]?.name;
    return {
        k3sVersion: "v1.33.6+k3s1",
        nodes,
        options: { disable: ["traefik"] },
        sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpSZXBsYWNlV2l0aFlvdXJPd25QdWJsaWNLZXk bench@example",
        nodeAnnotations: {},
        nodeLabels: {},
        nodeTaints: variant.taintFirstAgent && firstAgent ? { [firstAgent]: ["bench=changed:NoSchedule"] } : {},
    };
}
