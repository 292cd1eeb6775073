import { hiddenValue, secretShapeOf } from "./secretShapes";

/**
 * The one error type for bad input. Its message always names the field, the offending value and the fix, so a
 * `pulumi preview` that fails on it tells the user exactly what to change.
 *
 * It carries Pulumi's run-error marker, so the CLI prints the message alone, without a JavaScript stack trace.
 * The marker is set here instead of extending `pulumi.RunError`, which keeps the validation files free of the
 * Pulumi runtime and usable from the offline plan and the tests as plain functions.
 */
export class ConfigError extends Error {
    /** Read by `RunError.isInstance` in @pulumi/pulumi; makes the CLI show the message without a stack. */
    readonly __pulumiRunError = true;

    constructor(
        /** Dotted path of the input, e.g. `servers[0].nodeName` or `VultrServer web-1.osId`. */
        readonly field: string,
        /** The value as the user gave it (secrets are never passed here, only their absence). */
        readonly value: unknown,
        /** What is wrong, in one clause. */
        readonly problem: string,
        /** What to do instead, as a full sentence. */
        readonly fix: string,
    ) {
        super(`${field} = ${describeValue(value)}: ${problem}. ${fix}`);
        this.name = "ConfigError";
    }
}

/** A value shown in an error as these words, not quoted: "(set)" for a credential that is there. */
export class ShownAs {
    constructor(readonly words: string) {}
}

/**
 * How a value appears in an error: strings quoted, absent values named, everything else as JSON - and anything that
 * looks like a credential (a pasted private key, a token, a URL with a password) as `(hidden: ...)`, wherever it is.
 */
export function describeValue(value: unknown): string {
    if (value === undefined) return "(not set)";
    if (value instanceof ShownAs) return value.words;
    if (typeof value === "string") {
        const secret = secretShapeOf(value);
        return secret ? hiddenValue(secret) : JSON.stringify(value);
    }
    if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
    try {
        return JSON.stringify(value, (_key, inner: unknown) => {
            const secret = typeof inner === "string" ? secretShapeOf(inner) : undefined;
            return secret ? hiddenValue(secret) : inner;
        });
    } catch {
        return "(a value that cannot be shown)";
    }
}

/**
 * Several ConfigErrors found in one pass (a stack file with more than one mistake), reported together so the user
 * fixes them in one go. Its message lists each one on its own line.
 */
export class ConfigErrors extends Error {
    readonly __pulumiRunError = true;

    constructor(
        readonly errors: readonly ConfigError[],
        /** Where they were found, e.g. "the stack config" or "the inputs of MulticloudCluster(dev)". */
        where = "the stack config",
    ) {
        super(`${errors.length} problems in ${where}:\n${errors.map((e) => `  - ${e.message}`).join("\n")}`);
        this.name = "ConfigErrors";
    }
}

/**
 * Reports what a check found: nothing, one ConfigError as itself, or several together (so a file with more than one
 * mistake is fixed in one round).
 */
export function throwIfAny(errors: readonly ConfigError[], where?: string): void {
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new ConfigErrors(errors, where);
}
