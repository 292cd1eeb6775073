import * as pulumi from "@pulumi/pulumi";

/**
 * Pulumi runtime mocks that record every registration with the options the engine would see (parent, dependencies,
 * provider, retainOnDelete, ignoreChanges, additionalSecretOutputs), which the plain mock API hides. The offline
 * plan evaluates the real program with them; the tests build their fake cloud on them.
 */

/** The marker Pulumi puts on a secret value in serialized inputs. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** What an unknown (computed) value looks like in serialized inputs during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** One `registerResource` the program made. */
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
    /** The resource's aliases: a former URN, or the parts of it that differ (name, type, parent). */
    readonly aliases: AliasRecord[];
}

/** One alias as the engine receives it. */
export interface AliasRecord {
    readonly urn?: string;
    readonly name?: string;
    readonly type?: string;
    /** The former parent's URN (as the mock monitor wrote it), or "" for no parent. */
    readonly parentUrn?: string;
}

/** One data-source call (invoke) the program made. */
export interface CallRecord {
    readonly token: string;
    readonly inputs: Record<string, unknown>;
}

export interface RecordingMocksOptions {
    readonly preview: boolean;
    readonly project?: string;
    readonly stack: string;
    /** Answers a resource registration: its id and output state. */
    readonly newResource: (args: pulumi.runtime.MockResourceArgs) => pulumi.runtime.MockResourceResult;
    /** Answers a data-source call. */
    readonly call: (args: pulumi.runtime.MockCallArgs) => Record<string, unknown>;
}

export class RecordingMocks {
    readonly registrations: Registration[] = [];
    readonly calls: CallRecord[] = [];
    /** Warnings the program logged with `pulumi.log.warn`. */
    readonly warnings: string[] = [];
    private pending = 0;

    private constructor() {}

    /** Installs the mocks (process-global: the last install wins); call before constructing any resource. */
    static async install(options: RecordingMocksOptions): Promise<RecordingMocks> {
        const recorder = new RecordingMocks();
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => options.newResource(args),
                call: (args) => {
                    recorder.calls.push({ token: args.token, inputs: args.inputs });
                    return options.call(args);
                },
            },
            options.project ?? "k3s-multicloud",
            options.stack,
            options.preview,
        );
        recorder.recordRegistrations();
        (pulumi.log as { warn: (message: string) => Promise<void> }).warn = async (message: string) => {
            recorder.warnings.push(message);
        };
        return recorder;
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
                        aliases: (req.getAliasesList?.() ?? []).map(aliasRecord),
                    });
                }
                this.pending--;
                callback(err, resp);
            });
        };
    }
}

function aliasRecord(alias: any): AliasRecord {
    if (alias.getUrn?.()) return { urn: alias.getUrn() };
    const spec = alias.getSpec?.();
    if (!spec) return {};
    return {
        ...(spec.getName() ? { name: spec.getName() } : {}),
        ...(spec.getType() ? { type: spec.getType() } : {}),
        ...(spec.hasParenturn() ? { parentUrn: spec.getParenturn() } : spec.hasNoparent() && spec.getNoparent() ? { parentUrn: "" } : {}),
    };
}

/** True when a serialized input value is a secret. */
export function isSecretValue(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** The plain value inside a serialized input, secret or not. */
export function unwrap(value: unknown): any {
    return isSecretValue(value) ? (value as { value: unknown }).value : value;
}

/** Resolves an Output: its value, whether it is known, whether it is secret. */
export async function resolve<T>(output: pulumi.Output<T>): Promise<{ value: T | undefined; known: boolean; secret: boolean }> {
    const internal = output as any;
    const [value, known, secret] = await Promise.all([internal.promise(), internal.isKnown, internal.isSecret]);
    return { value: known ? value : undefined, known, secret };
}
