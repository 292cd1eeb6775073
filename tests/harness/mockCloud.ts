import * as pulumi from "@pulumi/pulumi";

/** The marker Pulumi puts on a secret value in serialized inputs. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** What an unknown (computed) value looks like in serialized inputs during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** One `registerResource` the program made, with the options the engine would see. */
export interface Registration {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly custom: boolean;
    /** Inputs as serialized for the engine: secrets still wrapped (see `isSecretValue`), unknowns as UNKNOWN. */
    readonly inputs: Record<string, unknown>;
    readonly parent: string;
    readonly dependencies: string[];
    readonly provider: string;
    readonly retainOnDelete: boolean | undefined;
    readonly protect: boolean | undefined;
    readonly ignoreChanges: string[];
    readonly additionalSecretOutputs: string[];
    readonly replaceOnChanges: string[];
    readonly deleteBeforeReplace: boolean;
}

/** One data-source call (invoke) the program made. */
export interface CallRecord {
    readonly token: string;
    readonly inputs: Record<string, unknown>;
}

/** Values the fake cloud hands back, chosen per test. */
export interface CloudFixture {
    /** SWAS addresses by instance name (the `instanceName` input). */
    readonly swas?: Record<string, { publicIp: string; privateIp: string }>;
    /** Vultr addresses by label. */
    readonly vultr?: Record<string, { mainIp: string; internalIp?: string }>;
    /** Extra outputs for any resource, by resource name. */
    readonly outputs?: Record<string, Record<string, unknown>>;
    /** Answers for invokes, by token; falls back to the built-in answers below. */
    readonly calls?: Record<string, (inputs: Record<string, any>) => Record<string, unknown>>;
}

export const SWAS_INSTANCE = "alicloud:simpleapplicationserver/instance:Instance";
export const SWAS_GET_INSTANCES = "alicloud:simpleapplicationserver/getInstances:getInstances";

/**
 * A fake cloud behind Pulumi's runtime mocks that records every registration with its options (parent, dependencies,
 * retainOnDelete, ...), which the plain mock API does not show. One per test: `setMocks` is process-global.
 */
export class MockCloud {
    readonly registrations: Registration[] = [];
    readonly calls: CallRecord[] = [];
    /** Warnings the program logged with `pulumi.log.warn`, kept here instead of cluttering the test output. */
    readonly warnings: string[] = [];
    private pending = 0;
    private readonly swasIds = new Map<string, string>();

    private constructor(
        readonly preview: boolean,
        private readonly fixture: CloudFixture,
    ) {}

    /** Installs the mocks; call it before constructing any resource of the test. */
    static async install(options: { preview?: boolean; fixture?: CloudFixture; stack?: string } = {}): Promise<MockCloud> {
        const cloud = new MockCloud(options.preview ?? false, options.fixture ?? {});
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => cloud.newResource(args),
                call: (args) => cloud.call(args),
            },
            "k3s-multicloud",
            options.stack ?? "test",
            cloud.preview,
        );
        cloud.recordRegistrations();
        cloud.recordWarnings();
        return cloud;
    }

    /** Waits until every registration the program started has been answered. */
    async settle(): Promise<void> {
        let quiet = 0;
        let seen = -1;
        while (quiet < 20) {
            await new Promise((resolve) => setImmediate(resolve));
            if (this.pending === 0 && this.registrations.length === seen) quiet++;
            else quiet = 0;
            seen = this.registrations.length;
        }
    }

    /** Registrations of one type token, e.g. "vultr:index/instance:Instance". */
    ofType(type: string): Registration[] {
        return this.registrations.filter((r) => r.type === type);
    }

    /** The one registration with this logical name; fails when there is none or more than one. */
    named(name: string): Registration {
        const found = this.registrations.filter((r) => r.name === name);
        if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
        return found[0];
    }

    /** Every URN registered more than once (the real engine would reject the program). */
    duplicateUrns(): string[] {
        const counts = new Map<string, number>();
        for (const r of this.registrations) counts.set(r.urn, (counts.get(r.urn) ?? 0) + 1);
        return [...counts].filter(([, n]) => n > 1).map(([urn]) => urn);
    }

    private recordWarnings(): void {
        (pulumi.log as { warn: (message: string) => Promise<void> }).warn = async (message: string) => {
            this.warnings.push(message);
        };
    }

    private recordRegistrations(): void {
        const monitor = pulumi.runtime.getMonitor() as any;
        const original = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: (err: unknown, resp: unknown) => void) => {
            this.pending++;
            original(req, (err: unknown, resp: any) => {
                if (!err) {
                    this.registrations.push({
                        type: req.getType(),
                        name: req.getName(),
                        urn: resp.getUrn(),
                        custom: req.getCustom(),
                        inputs: req.getObject()?.toJavaScript() ?? {},
                        parent: req.getParent(),
                        dependencies: req.getDependenciesList(),
                        provider: req.getProvider(),
                        retainOnDelete: req.hasRetainondelete?.() === false ? undefined : req.getRetainondelete(),
                        protect: req.hasProtect?.() === false ? undefined : req.getProtect(),
                        ignoreChanges: req.getIgnorechangesList(),
                        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                        replaceOnChanges: req.getReplaceonchangesList(),
                        deleteBeforeReplace: req.getDeletebeforereplace(),
                    });
                }
                this.pending--;
                callback(err, resp);
            });
        };
    }

    private newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = args.inputs as Record<string, any>;
        const extra = this.fixture.outputs?.[args.name] ?? {};
        const id = this.preview && args.custom ? undefined : `${args.name}-id`;
        if (this.preview) return { id, state: { ...inputs, ...extra } };
        switch (args.type) {
            case SWAS_INSTANCE:
                this.swasIds.set(`${args.name}-id`, inputs.instanceName);
                return { id, state: { ...inputs, ...extra } };
            case "vultr:index/instance:Instance": {
                const addresses = this.fixture.vultr?.[inputs.label] ?? { mainIp: "198.51.100.200" };
                return {
                    id,
                    state: { ...inputs, mainIp: addresses.mainIp, internalIp: addresses.internalIp ?? "", ...extra },
                };
            }
            case "random:index/randomPassword:RandomPassword":
                return { id, state: { ...inputs, result: `generated-password-for-${args.name}`, ...extra } };
            default:
                return { id, state: { ...inputs, ...extra } };
        }
    }

    private call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const inputs = args.inputs as Record<string, any>;
        this.calls.push({ token: args.token, inputs });
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

/** True when a serialized input value is a secret. */
export function isSecretValue(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** The plain value inside a serialized input, secret or not. */
export function unwrap(value: unknown): any {
    return isSecretValue(value) ? (value as { value: unknown }).value : value;
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

/** Resolves an Output in a test (its value, whether it is known, whether it is secret). */
export async function resolve<T>(output: pulumi.Output<T>): Promise<{ value: T | undefined; known: boolean; secret: boolean }> {
    const internal = output as any;
    const [value, known, secret] = await Promise.all([internal.promise(), internal.isKnown, internal.isSecret]);
    return { value: known ? value : undefined, known, secret };
}
