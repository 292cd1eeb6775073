import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_DIAL_POLICY, DialPolicy, SshConnection } from "./clusterHost";

/** What a host component knows about SSH before the address resolves. */
export interface SshConnectionInputs {
    readonly host: pulumi.Input<string>;
    readonly port?: number;
    readonly user: string;
    readonly password?: pulumi.Input<string>;
    readonly privateKey?: pulumi.Input<string>;
    readonly hostKey?: pulumi.Input<string | undefined>;
    readonly dial?: DialPolicy;
}

/**
 * One secret Output holding everything `@pulumi/command` needs to connect. The whole structure is secret, not just
 * the credential, so no part of it can be copied into a plain input by accident.
 */
export function secretSshConnection(inputs: SshConnectionInputs): pulumi.Output<SshConnection> {
    return pulumi.secret(
        pulumi
            .all([inputs.host, inputs.password, inputs.privateKey, inputs.hostKey])
            .apply(([host, password, privateKey, hostKey]): SshConnection => {
                const connection: SshConnection = {
                    host,
                    port: inputs.port ?? 22,
                    user: inputs.user,
                    dialErrorLimit: inputs.dial?.dialErrorLimit ?? DEFAULT_DIAL_POLICY.dialErrorLimit,
                    perDialTimeout: inputs.dial?.perDialTimeout ?? DEFAULT_DIAL_POLICY.perDialTimeout,
                    ...(password !== undefined ? { password } : {}),
                    ...(privateKey !== undefined ? { privateKey } : {}),
                    ...(hostKey !== undefined ? { hostKey } : {}),
                };
                return connection;
            }),
    );
}
