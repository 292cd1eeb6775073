import * as pulumi from "@pulumi/pulumi";

/** What a cloud look-up must answer, for its message under unit-test mocks. */
export interface Lookup<T> {
    /** The call's token, as a mock's `call(args)` sees it in `args.token`. */
    readonly token: string;
    /** The smallest answer the component needs, as the mock would return it. */
    readonly needs: string;
    /** Why nothing was found, in a real run. */
    readonly missing: string;
    /** What stands in under mocks. */
    readonly placeholder: T;
    readonly resource: pulumi.Resource;
}

/**
 * The first item a cloud look-up returned. In a real run an empty answer fails the program with `missing`. Under
 * unit-test mocks (no engine) a throw here would leave every output downstream pending for ever - a consumer's test
 * hangs until its timeout with no cause (the SDK has no one to report the rejected apply to) - so a placeholder
 * stands in, with a warning that names the call and the mock answer it needs.
 */
export function firstFound<T>(items: readonly T[] | undefined, lookup: Lookup<T>): T {
    if (items && items.length > 0) return items[0];
    if (pulumi.runtime.hasEngine()) throw new Error(lookup.missing);
    pulumi.log.warn(
        `${lookup.missing}: the test's mocks answered ${lookup.token} without a result. Answer it in your mocks' call(), e.g. ` +
            `\`call: (args) => args.token === "${lookup.token}" ? ${lookup.needs} : args.inputs\`; a placeholder stands in meanwhile.`,
        lookup.resource,
    );
    return lookup.placeholder;
}

let placeholders = 0;

/** A placeholder address per look-up, from the documentation range (192.0.2.0/24), distinct within one program. */
export function placeholderAddress(): string {
    placeholders = (placeholders % 254) + 1;
    return `192.0.2.${placeholders}`;
}
