import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../components/validation/configError";

/** Credentials that must never show up in a plain input; tests search for them. */
export const SECRETS = {
    vultrPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nvultr-test-key-material\n-----END OPENSSH PRIVATE KEY-----\n",
    existingPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nexisting-test-key-material\n-----END OPENSSH PRIVATE KEY-----\n",
    existingPassword: "existing-test-password-9f2c",
} as const;

/** An existing server's SSH host public key, as pinned in `hostKey` (test value). */
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Qta2V5LW9mLXRoZS10ZXN0LXNlcnZlcjAx";

export const SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk3c211bHRpY2xvdWR0ZXN0a2V5 ops@example";

export { TYPES } from "../../lab/mocks/resourceTypes";

/** Wraps a test credential the way a program gets it from `config.requireSecret`. */
export function secret(value: string): pulumi.Output<string> {
    return pulumi.secret(value);
}

/** /etc/rancher/k3s/k3s.yaml as k3s writes it (certificate data shortened). */
export const K3S_YAML = [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    "    certificate-authority-data: Q0EtREFUQQ==",
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
    "    client-certificate-data: Q0VSVA==",
    "    client-key-data: S0VZ",
    "",
].join("\n");

/** Asserts that `run` throws a ConfigError with exactly `message`. */
export function assertConfigError(run: () => unknown, message: string): void {
    assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
        assert.equal(error.message, message);
        return true;
    });
}
