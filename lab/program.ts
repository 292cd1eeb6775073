import * as pulumi from "@pulumi/pulumi";
import { AliyunLightweightServer, ExistingServer, K3sCluster, VultrServer } from "../components";
import { MockCloud, Registration } from "./mocks/mockCloud";
import { LAB_ADDRESSES } from "./world";

/** The node names of the lab cluster, by the kind of host each runs on. */
export const LAB_NODES = { swas: "swas-1", vultr: "vultr-1", home: "home-1" } as const;

export interface LabProgramInputs {
    /** The private key the runner logs in with (Vultr root, the home host's sudo user). */
    readonly clientPrivateKey: string;
    readonly clientPublicKey: string;
    /** The existing server's host key as its owner pins it. */
    readonly homeHostKey: string;
    readonly homeUser: string;
    readonly meshTimeoutSeconds: number;
    /** What each address presents on first contact (the mocks' stand-in for a host-key check that ran). */
    readonly presentedHostKeys: Record<string, string>;
}

/**
 * The cluster a user would write - a SWAS server, a Vultr agent and an existing agent at home - evaluated with the
 * real components under mocks whose "cloud" answers are the lab's addresses. What it registers is what the lab runs.
 */
export async function evaluateLabProgram(inputs: LabProgramInputs): Promise<Registration[]> {
    const cloud = await MockCloud.install({
        fixture: {
            swas: { [LAB_NODES.swas]: { publicIp: LAB_ADDRESSES.swasPublic, privateIp: LAB_ADDRESSES.swasPrivate } },
            vultr: { [LAB_NODES.vultr]: { mainIp: LAB_ADDRESSES.vultr } },
            hostKeys: inputs.presentedHostKeys,
        },
    });
    const swas = new AliyunLightweightServer(LAB_NODES.swas, { region: "cn-hongkong", planId: "swas.s2.c2m2s40b4t1", imageId: "image-ubuntu-2204" });
    const vultr = new VultrServer(LAB_NODES.vultr, {
        region: "nrt",
        plan: "vc2-1c-2gb",
        osId: 2284,
        sshPublicKey: inputs.clientPublicKey,
        sshPrivateKey: pulumi.secret(inputs.clientPrivateKey),
    });
    const home = new ExistingServer(LAB_NODES.home, {
        publicIp: LAB_ADDRESSES.homePublic,
        privateIp: LAB_ADDRESSES.homePrivate,
        location: "home-lab",
        user: inputs.homeUser,
        privateKey: pulumi.secret(inputs.clientPrivateKey),
        hostKey: inputs.homeHostKey,
    });
    new K3sCluster("lab", {
        k3sVersion: "v1.33.6+k3s1",
        servers: [swas.host],
        agents: [vultr.host, home.host],
        meshTimeoutSeconds: inputs.meshTimeoutSeconds,
        // A join the stand-in refuses must fail the lab in a minute, not after k3s' five; not in 20 s either: on a
        // loaded CI machine a restart of the k3s stand-in (a handful of kubectl calls) took longer than that.
        readyTimeoutSeconds: 60,
        // As a careful user would: the API for the machine running `pulumi`/`kubectl` only (the default is anyone).
        apiAllowedCidrs: [`${LAB_ADDRESSES.runner}/32`],
    });
    await cloud.settle();
    return cloud.registrations;
}
