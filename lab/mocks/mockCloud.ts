import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CallRecord, RecordingMocks, Registration, isSecretValue, unwrap } from "../../stacks/plan/recordingMocks";

import { TYPES } from "./resourceTypes";

export { UNKNOWN, isSecretValue, resolve, unwrap } from "../../stacks/plan/recordingMocks";
export type { CallRecord, Registration } from "../../stacks/plan/recordingMocks";

/** Values the fake cloud hands back, chosen per test. */
export interface CloudFixture {
    /** SWAS addresses by instance name (the `instanceName` input). */
    readonly swas?: Record<string, { publicIp: string; privateIp: string }>;
    /** Vultr addresses by label. */
    readonly vultr?: Record<string, { mainIp: string; internalIp?: string }>;
    /** The SSH host key a host presents on first contact, by address (default FIRST_USE_HOST_KEY). */
    readonly hostKeys?: Record<string, string>;
    /** Extra outputs for any resource, by resource name. */
    readonly outputs?: Record<string, Record<string, unknown>>;
    /** Answers for invokes, by token; falls back to the built-in answers below. */
    readonly calls?: Record<string, (inputs: Record<string, any>) => Record<string, unknown>>;
}

/** The server CA hash the fake cloud's server install steps print. */
export const TEST_CA_HASH = "c0ffee".padEnd(64, "0");

/** What a host presents when a test does not say (a host whose key is trusted on first use). */
export const FIRST_USE_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZpcnN0LXVzZS1ob3N0LWtleS1vZi10aGUtdGVzdHMx";

const generatedKeys = new Map<string, { privateKey: string; publicKey: string }>();

/** One real ed25519 key pair per resource name (cached: every test run of a name sees the same key). */
export function generatedKey(name: string): { privateKey: string; publicKey: string } {
    let key = generatedKeys.get(name);
    if (!key) {
        const dir = mkdtempSync(join(tmpdir(), "k3smc-key-"));
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", join(dir, "key")]);
        key = { privateKey: readFileSync(join(dir, "key"), "utf8"), publicKey: readFileSync(join(dir, "key.pub"), "utf8") };
        rmSync(dir, { recursive: true, force: true });
        generatedKeys.set(name, key);
    }
    return key;
}

export const SWAS_GET_INSTANCES = "alicloud:simpleapplicationserver/getInstances:getInstances";

/**
 * A fake cloud behind the recording mocks: answers registrations and data-source calls with the fixture's values.
 * One per test: `setMocks` is process-global.
 */
export class MockCloud {
    private readonly swasIds = new Map<string, string>();

    private constructor(
        readonly preview: boolean,
        private readonly fixture: CloudFixture,
        private recorder?: RecordingMocks,
    ) {}

    /** Installs the mocks; call it before constructing any resource of the test. */
    static async install(options: { preview?: boolean; fixture?: CloudFixture; stack?: string } = {}): Promise<MockCloud> {
        const cloud = new MockCloud(options.preview ?? false, options.fixture ?? {});
        cloud.recorder = await RecordingMocks.install({
            preview: cloud.preview,
            stack: options.stack ?? "test",
            newResource: (args) => cloud.newResource(args),
            call: (args) => cloud.call(args),
        });
        return cloud;
    }

    get registrations(): Registration[] {
        return this.recorder!.registrations;
    }
    get calls(): CallRecord[] {
        return this.recorder!.calls;
    }
    get warnings(): string[] {
        return this.recorder!.warnings;
    }
    settle(): Promise<void> {
        return this.recorder!.settle();
    }
    ofType(type: string): Registration[] {
        return this.recorder!.ofType(type);
    }
    named(name: string): Registration {
        return this.recorder!.named(name);
    }
    duplicateUrns(): string[] {
        return this.recorder!.duplicateUrns();
    }

    private newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = args.inputs as Record<string, any>;
        const extra = this.fixture.outputs?.[args.name] ?? {};
        const id = this.preview && args.custom ? undefined : `${args.name}-id`;
        if (this.preview) return { id, state: { ...inputs, ...extra } };
        switch (args.type) {
            case TYPES.swasInstance:
                this.swasIds.set(`${args.name}-id`, inputs.instanceName);
                return { id, state: { ...inputs, ...extra } };
            case "vultr:index/instance:Instance": {
                const addresses = this.fixture.vultr?.[inputs.label] ?? { mainIp: "198.51.100.200" };
                return {
                    id,
                    state: { ...inputs, mainIp: addresses.mainIp, internalIp: addresses.internalIp ?? "", ...extra },
                };
            }
            case "tls:index/privateKey:PrivateKey": {
                // A real ed25519 key in the provider's formats, so what is rendered from it can be checked with OpenSSH.
                const key = generatedKey(args.name);
                return { id, state: { ...inputs, privateKeyOpenssh: key.privateKey, publicKeyOpenssh: key.publicKey, ...extra } };
            }
            case "command:local:Command": {
                // The host-key check: the generated key it was told to expect, or what the fixture says the host presents.
                const env = (unwrap(inputs.environment) ?? {}) as Record<string, string>;
                if (env.K3SMC_HOST === undefined) return { id, state: { ...inputs, ...extra } };
                const presented = env.K3SMC_EXPECTED_HOST_KEY ?? this.fixture.hostKeys?.[env.K3SMC_HOST] ?? FIRST_USE_HOST_KEY;
                return { id, state: { ...inputs, stdout: `${presented}\n`, ...extra } };
            }
            case "command:remote:Command": {
                // A server's install and ca-hash steps print its CA hash (what agents' secure join token carries).
                const create = String(inputs.create ?? "");
                if (/ v1 install .*--role server /.test(create) || / v1 ca-hash /.test(create)) {
                    return { id, state: { ...inputs, stdout: `k3s-multicloud: installed\n# ca-hash ${TEST_CA_HASH}\n`, ...extra } };
                }
                return { id, state: { ...inputs, ...extra } };
            }
            case "random:index/randomPassword:RandomPassword":
                return { id, state: { ...inputs, result: `generated-password-for-${args.name}`, ...extra } };
            default:
                return { id, state: { ...inputs, ...extra } };
        }
    }

    private call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const inputs = args.inputs as Record<string, any>;
        const custom = this.fixture.calls?.[args.token];
        if (custom) return custom(inputs);
        switch (args.token) {
            case SWAS_GET_INSTANCES: {
                const instances = (inputs.ids as string[]).map((id) => {
                    const instanceName = this.swasIds.get(id) ?? "";
                    const addresses = this.fixture.swas?.[instanceName] ?? { publicIp: "198.51.100.100", privateIp: "172.16.0.100" };
                    return { id, instanceId: id, instanceName, publicIpAddress: addresses.publicIp, innerIpAddress: addresses.privateIp };
                });
                return { ids: inputs.ids, instances };
            }
            case "alicloud:simpleapplicationserver/getServerPlans:getServerPlans":
                return {
                    plans: [
                        { id: "swas.s2.c2m2s40b4t1", planId: "swas.s2.c2m2s40b4t1", core: inputs.core, memory: inputs.memory, bandwidth: 4, diskSize: 40, flow: 1024, supportPlatform: "[\"Linux\"]" },
                    ],
                };
            case "alicloud:simpleapplicationserver/getImages:getImages":
                return { images: [{ id: "image-ubuntu-2204", imageId: "image-ubuntu-2204", imageName: "Ubuntu-22.04", imageType: "system", platform: "Linux", description: "" }] };
            case "vultr:index/getOs:getOs":
                return { id: "2284", name: inputs.filters?.[0]?.values?.[0] ?? "", arch: "x64", family: "ubuntu" };
            default:
                throw new Error(`the mock cloud has no answer for ${args.token}`);
        }
    }
}

/**
 * Every string in a registration's inputs that is NOT under a secret wrapper, with its path. Used to prove that no
 * password, key or token travels in a plain input.
 */
export function plainStrings(value: unknown, path = ""): Array<{ path: string; value: string }> {
    if (isSecretValue(value)) return [];
    if (typeof value === "string") return [{ path, value }];
    if (Array.isArray(value)) return value.flatMap((item, i) => plainStrings(item, `${path}[${i}]`));
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).flatMap(([key, item]) => plainStrings(item, path ? `${path}.${key}` : key));
    }
    return [];
}

