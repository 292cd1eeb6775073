import { strict as assert } from "node:assert";
import { assertConfigError } from "../harness/fixtures";
import {
    PUBLIC_IP_OVERWRITE,
    managedAnnotations,
    restartTrigger,
    validateNodeMetadata,
} from "../../components/annotations/managedAnnotations";
import { validateTaint } from "../../components/validation/kubernetesNames";

const rejects = assertConfigError;

describe("managed annotations", () => {
    it("adds public-ip-overwrite from the public IP to the user's keys, sorted", () => {
        assert.deepEqual(Object.entries(managedAnnotations("n", { "example.com/owner": "ops" }, "47.100.1.10")), [
            ["example.com/owner", "ops"],
            [PUBLIC_IP_OVERWRITE, "47.100.1.10"],
        ]);
    });

    it("accepts a user overwrite equal to what k3s writes", () => {
        assert.deepEqual(managedAnnotations("n", { [PUBLIC_IP_OVERWRITE]: "47.100.1.10" }, "47.100.1.10"), { [PUBLIC_IP_OVERWRITE]: "47.100.1.10" });
    });

    it("rejects a user overwrite that k3s would rewrite at its next start", () => {
        rejects(
            () => managedAnnotations("K3sCluster(dev).sh-server", { [PUBLIC_IP_OVERWRITE]: "1.2.3.4" }, "47.100.1.10"),
            'K3sCluster(dev).sh-server.annotations["flannel.alpha.coreos.com/public-ip-overwrite"] = "1.2.3.4": differs from the node\'s public IP 47.100.1.10, and k3s rewrites this annotation from node-external-ip at every start. Remove it: this project sets it to the host\'s publicIp; to advertise another address, change the host\'s publicIp.',
        );
    });

    it("rejects the IPv6 overwrite, which k3s would remove", () => {
        rejects(
            () => managedAnnotations("n", { "flannel.alpha.coreos.com/public-ipv6-overwrite": "2001:db8::1" }, "47.100.1.10"),
            'n.annotations["flannel.alpha.coreos.com/public-ipv6-overwrite"] = "2001:db8::1": is written by k3s from an IPv6 node-external-ip, and this project advertises IPv4 only, so k3s would remove it at its next start. Remove it.',
        );
    });

    it("rejects keys flannel writes itself", () => {
        rejects(
            () => validateNodeMetadata("n", { "flannel.alpha.coreos.com/public-ip": "1.2.3.4" }, {}),
            'n.annotations["flannel.alpha.coreos.com/public-ip"] = "1.2.3.4": is written by flannel itself each time it starts. Leave it to flannel; to change the address it advertises, change the node\'s public IP (flannel.alpha.coreos.com/public-ip-overwrite follows it).',
        );
    });

    it("rejects an invalid annotation key, naming it", () => {
        rejects(
            () => validateNodeMetadata("n", { "Example.com/owner": "ops" }, {}),
            'n.annotations["Example.com/owner"] = "Example.com/owner": is not a valid Kubernetes key: its prefix before \'/\' must be a lowercase DNS subdomain of at most 253 characters. Use a key such as "example.com/role" or "role".',
        );
        rejects(
            () => validateNodeMetadata("n", { "team owner": "ops" }, {}),
            'n.annotations["team owner"] = "team owner": is not a valid Kubernetes key: its name must be 1-63 characters of letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit. Use a key such as "example.com/role" or "role".',
        );
    });

    it("rejects an invalid label value, naming the key", () => {
        rejects(
            () => validateNodeMetadata("n", {}, { tier: "edge node" }),
            'n.labels["tier"] = "edge node": is not a valid label value (at most 63 characters of letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit). Shorten it or replace other characters, e.g. with \'-\'; free text belongs in an annotation.',
        );
    });

    it("rejects a malformed taint", () => {
        rejects(
            () => validateTaint("nodeTaints[0]", "dedicated=edge"),
            'nodeTaints[0] = "dedicated=edge": is not a taint (key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute). Write it like "dedicated=edge:NoSchedule".',
        );
    });

    it("builds the restart trigger from the restart keys only", () => {
        const annotations = { [PUBLIC_IP_OVERWRITE]: "47.100.1.10", "example.com/owner": "ops" };
        assert.equal(
            restartTrigger(annotations, [PUBLIC_IP_OVERWRITE, "flannel.alpha.coreos.com/public-ipv6-overwrite"]),
            "flannel.alpha.coreos.com/public-ip-overwrite=47.100.1.10\nflannel.alpha.coreos.com/public-ipv6-overwrite=",
        );
        assert.equal(
            restartTrigger({ ...annotations, "example.com/owner": "dev" }, [PUBLIC_IP_OVERWRITE]),
            restartTrigger(annotations, [PUBLIC_IP_OVERWRITE]),
        );
    });
});
