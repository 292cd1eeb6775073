import * as alicloud from "@pulumi/alicloud";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../validation/configError";
import { NUMBER_BOUNDS, requireWholeNumber } from "../validation/numbers";
import * as random from "@pulumi/random";
import { ClusterHost, DialPolicy } from "./clusterHost";
import { secretSshConnection } from "./connection";
import { hostKeyStep, keyFromScan } from "./hostKeys";
import { firstFound, placeholderAddress } from "./lookups";
import { ALIYUN_REGION, fieldOf, requireExactlyOne, resolveNodeName, validateRegion, validateSwasPeriod } from "./validateHostArgs";

/** Find a SWAS plan by size instead of by id (plan ids differ between regions). */
export interface SwasPlanLookup {
    /** vCPUs, e.g. 2. */
    readonly core: number;
    /** Memory in GiB, e.g. 2. */
    readonly memory: number;
    /** Peak bandwidth in Mbit/s, when several plans share core and memory. */
    readonly bandwidth?: number;
    /** System disk in GiB. */
    readonly diskSize?: number;
}

/** Find a SWAS system image by name instead of by id. */
export interface SwasImageLookup {
    /** Regular expression on the image name, e.g. "^Ubuntu-22.04". */
    readonly nameRegex: string;
}

/** The plan: by id, or looked up by size (`planSize`, as the stack config names it). Exactly one. */
export type SwasPlanChoice =
    | {
          /** SWAS plan id, e.g. "swas.s2.c2m2s40b4t1". */
          readonly planId: pulumi.Input<string>;
          readonly planSize?: undefined;
          readonly plan?: undefined;
      }
    | {
          readonly planId?: undefined;
          /** Look the plan up by size; the first matching plan is used. */
          readonly planSize: SwasPlanLookup;
          readonly plan?: undefined;
      }
    | {
          readonly planId?: undefined;
          readonly planSize?: undefined;
          /** @deprecated Since 0.5.0: the same lookup is called `planSize`, as in the stack config. Still read, with a warning. */
          readonly plan: SwasPlanLookup;
      };

/** The system image: by id, or looked up by name. Exactly one. */
export type SwasImageChoice =
    | {
          /** SWAS image id. */
          readonly imageId: pulumi.Input<string>;
          readonly image?: undefined;
      }
    | {
          readonly imageId?: undefined;
          /** Look the system image up by name. */
          readonly image: SwasImageLookup;
      };

/** An Alibaba lightweight server: its region and terms, one plan and one image (both required by type). */
export type AliyunLightweightServerArgs = AliyunLightweightServerBaseArgs & SwasPlanChoice & SwasImageChoice;

/** What every Alibaba lightweight server takes besides its plan and image. */
export interface AliyunLightweightServerBaseArgs {
    /** Alibaba Cloud region id, e.g. "cn-hangzhou" or "ap-southeast-1". */
    readonly region: string;
    /** Prepaid term in months: 1, 3, 6, 12, 24 or 36. Default 1. */
    readonly period?: number;
    /** Renew automatically when the term ends. Default false: the server stops when the term ends. */
    readonly autoRenew?: boolean;
    /** Months per automatic renewal (same values as `period`). Default: the same as `period`. */
    readonly autoRenewPeriod?: number;
    /** Extra data disk in GiB, a multiple of 20 (SWAS sells disks in 20 GiB steps). Default none. */
    readonly dataDiskSize?: number;
    /** Kubernetes node name; defaults to the component name. */
    readonly nodeName?: string;
    /**
     * Keep the Pulumi resource's server when the resource is deleted or replaced. Default true, because deleting a
     * SWAS instance through the API does not release it anyway: it keeps billing until its term ends.
     */
    readonly retainOnDelete?: boolean;
    /**
     * Let a change of `imageId` reach the server. Default false: the provider would reinstall the operating system in
     * place and wipe the node, so image changes are ignored unless you ask for this.
     */
    readonly allowImageChange?: boolean;
    /**
     * Let a change of the plan reach the server. Default false: a plan looked up by size can resolve to another id
     * when Alibaba's catalogue changes, which must not resize (or fail to resize) a running server behind your back.
     * Set it for a deliberate upgrade to another plan.
     */
    readonly allowPlanChange?: boolean;
    /** How long SSH keeps trying while the server boots. */
    readonly ssh?: DialPolicy;
    /**
     * Raise by one after reinstalling the server in a way that keeps its instance id (the console's "reset system",
     * a new image): its SSH host key is learned again (trust on first use, as at creation), and the node rejoins as
     * a new machine (its old Node object and node password are removed first). Default 0. Without it, every step
     * refuses the new host key, as it must for a key that changed for no reason you know of.
     */
    readonly hostKeyGeneration?: number;
    /**
     * The Alibaba Cloud provider to use; its region must be `region`. Default: one created for `region`, with
     * credentials from `alicloud:accessKey`/`alicloud:secretKey` config or the ALICLOUD_* environment variables.
     */
    readonly provider?: alicloud.Provider;
}

/**
 * An Alibaba Cloud Simple Application Server (lightweight server) as a cluster host.
 *
 * The server sits behind 1:1 NAT: its NIC only has a private address, so `host.behindNat` is true and the public
 * address comes from the SWAS API. SSH logs in as root with a generated password (SWAS has no key pairs).
 */
export class AliyunLightweightServer extends pulumi.ComponentResource {
    public readonly host: ClusterHost;
    public readonly instance: alicloud.simpleapplicationserver.Instance;
    /** The root password; secret. */
    public readonly rootPassword: pulumi.Output<string>;
    /** Learns the server's SSH host key on first contact; every SSH session pins what it printed. */
    public readonly hostKeyCheck: command.local.Command;
    public readonly publicIp: pulumi.Output<string>;
    public readonly privateIp: pulumi.Output<string>;

    constructor(name: string, args: AliyunLightweightServerArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = "AliyunLightweightServer";
        const nodeName = resolveNodeName(component, name, args.nodeName);
        const region = validateRegion(fieldOf(component, name, "region"), args.region, ALIYUN_REGION, "cn-hangzhou");
        const period = validateSwasPeriod(fieldOf(component, name, "period"), args.period ?? 1);
        const hostKeyGeneration = requireWholeNumber(fieldOf(component, name, "hostKeyGeneration"), args.hostKeyGeneration ?? 0, NUMBER_BOUNDS.hostKeyGeneration, "is not a whole number from 0 to 1000", "Use 0 (default) and raise it by one after each reinstall that keeps the instance id.");
        if (args.autoRenewPeriod !== undefined) {
            validateSwasPeriod(fieldOf(component, name, "autoRenewPeriod"), args.autoRenewPeriod);
        }
        requireExactlyOne(fieldOf(component, name, "planId"), ["planId", args.planId], ["planSize", args.planSize], ["plan", args.plan]);
        const planSize = args.planSize ?? args.plan;
        validateSwasInstanceName(fieldOf(component, name, args.nodeName !== undefined ? "nodeName" : "name"), nodeName);
        if (args.dataDiskSize !== undefined) validateSwasDataDisk(fieldOf(component, name, "dataDiskSize"), args.dataDiskSize);
        requireExactlyOne(fieldOf(component, name, "imageId"), ["imageId", args.imageId], ["image", args.image]);

        super("k3s-multicloud:hosts:AliyunLightweightServer", name, {}, opts);
        if (args.plan !== undefined) {
            void pulumi.log.warn(`AliyunLightweightServer(${name}).plan is deprecated since 0.5.0: the same lookup is called planSize, as in the stack config. plan keeps working for now; rename it.`, this);
        }

        // The SWAS region is a provider setting, so every server gets a provider for its region unless the caller
        // passed one.
        const provider = args.provider ?? this.regionalProvider(name, region);
        const invokeOpts: pulumi.InvokeOutputOptions = { parent: this, provider };

        const planId =
            args.planId ??
            alicloud.simpleapplicationserver
                .getServerPlansOutput(
                    {
                        core: planSize!.core,
                        memory: planSize!.memory,
                        bandwidth: planSize!.bandwidth,
                        diskSize: planSize!.diskSize,
                        platform: "Linux",
                    },
                    invokeOpts,
                )
                .apply(
                    (result) =>
                        firstFound(result.plans, {
                            token: "alicloud:simpleapplicationserver/getServerPlans:getServerPlans",
                            needs: '{ plans: [{ id: "swas.s2.c2m2s40b4t1" }] }',
                            missing: `no SWAS plan in ${region} matches ${JSON.stringify(planSize)}`,
                            placeholder: { id: "swas-plan-placeholder" } as (typeof result.plans)[number],
                            resource: this,
                        }).id,
                );
        const imageId =
            args.imageId ??
            alicloud.simpleapplicationserver
                .getImagesOutput({ imageType: "system", platform: "Linux", nameRegex: args.image!.nameRegex }, invokeOpts)
                .apply(
                    (result) =>
                        firstFound(result.images, {
                            token: "alicloud:simpleapplicationserver/getImages:getImages",
                            needs: '{ images: [{ id: "image-id" }] }',
                            missing: `no SWAS system image in ${region} matches /${args.image!.nameRegex}/`,
                            placeholder: { id: "swas-image-placeholder" } as (typeof result.images)[number],
                            resource: this,
                        }).id,
                );

        const password = new random.RandomPassword(
            `${name}-root-password`,
            {
                length: 24,
                // SWAS demands 8-30 characters from three classes and accepts only these symbols.
                minLower: 2,
                minUpper: 2,
                minNumeric: 2,
                minSpecial: 2,
                overrideSpecial: "()~!@#$%^*-+=|{}[]:;<>,.?/",
            },
            { parent: this },
        );

        // RandomPassword marks its result secret through the engine; wrapping it again keeps it secret even where
        // that marking is not applied (runtime mocks, the offline plan).
        const rootPassword = pulumi.secret(password.result);

        const ignoreChanges = ["status"];
        if (!args.allowImageChange) ignoreChanges.push("imageId");
        if (!args.allowPlanChange) ignoreChanges.push("planId");

        this.instance = new alicloud.simpleapplicationserver.Instance(
            `${name}-instance`,
            {
                instanceName: nodeName,
                planId,
                imageId,
                period,
                paymentType: "Subscription",
                autoRenew: args.autoRenew ?? false,
                autoRenewPeriod: args.autoRenew ? (args.autoRenewPeriod ?? period) : undefined,
                dataDiskSize: args.dataDiskSize,
                password: rootPassword,
                // The API applies a new password only after a reboot; "Resetting" makes the provider reboot once at
                // create. It is ignored afterwards, or every `pulumi up` would reboot the server.
                status: "Resetting",
            },
            {
                parent: this,
                provider,
                additionalSecretOutputs: ["password"],
                ignoreChanges,
                retainOnDelete: args.retainOnDelete ?? true,
            },
        );

        const addresses = alicloud.simpleapplicationserver
            .getInstancesOutput({ ids: [this.instance.id] }, invokeOpts)
            .apply((result) => {
                const found = firstFound(result.instances, {
                    token: "alicloud:simpleapplicationserver/getInstances:getInstances",
                    needs: '{ instances: [{ publicIpAddress: "47.100.1.10", innerIpAddress: "172.17.61.146" }] }',
                    missing: `SWAS instance lookup returned no instance for ${nodeName}`,
                    placeholder: { publicIpAddress: placeholderAddress(), innerIpAddress: "172.31.255.1" } as (typeof result.instances)[number],
                    resource: this,
                });
                return { publicIp: found.publicIpAddress, privateIp: found.innerIpAddress };
            });
        this.publicIp = addresses.publicIp;
        this.privateIp = addresses.privateIp;
        this.rootPassword = rootPassword;

        pulumi.log.warn(
            `${nodeName}: Alibaba SWAS servers are prepaid. \`pulumi destroy\` does not release this server; ` +
                `it keeps running and billing until its ${period}-month term ends` +
                (args.autoRenew ? " and renews automatically until you turn auto-renew off in the console" : "") +
                ". Release it in the Alibaba Cloud console.",
            this,
        );

        // SWAS has no user-data to install a host key of ours, and the bridged provider no API to read the server's:
        // the key is learned on first contact, recorded in state and pinned from then on.
        pulumi.log.warn(
            `${nodeName}: its SSH host key is trusted on first use: Alibaba SWAS offers this release no authenticated way to learn it, so the key the server first presents is recorded in state and every later session pins it.`,
            this,
        );
        // Generation 0 keeps the identity the instance id alone, as every release stored it.
        const identity = hostKeyGeneration === 0 ? this.instance.id : pulumi.interpolate`${this.instance.id}#reinstall-${hostKeyGeneration}`;
        this.hostKeyCheck = hostKeyStep(this, name, { nodeName, host: this.publicIp, identity, dependsOn: [this.instance] });

        this.host = {
            name: nodeName,
            provider: "aliyun",
            location: region,
            publicIp: this.publicIp,
            privateIp: this.privateIp,
            behindNat: true,
            connection: secretSshConnection({
                host: this.publicIp,
                user: "root",
                password: rootPassword,
                hostKey: this.hostKeyCheck.stdout.apply(keyFromScan),
                dial: args.ssh,
            }),
            sudo: false,
            firewall: { kind: "aliyun-swas", instanceId: this.instance.id, provider },
            ready: this.hostKeyCheck,
            identity,
        };

        this.registerOutputs({
            instanceId: this.instance.id,
            publicIp: this.publicIp,
            privateIp: this.privateIp,
            rootPassword: this.rootPassword,
        });
    }

    private regionalProvider(name: string, region: string): alicloud.Provider {
        const config = new pulumi.Config("alicloud");
        return new alicloud.Provider(
            `${name}-alicloud`,
            {
                region,
                accessKey: config.getSecret("accessKey"),
                secretKey: config.getSecret("secretKey"),
            },
            { parent: this },
        );
    }
}

/** SWAS instance names are 2 to 50 characters; the node name is the instance name. */
function validateSwasInstanceName(field: string, name: string): void {
    if (name.length < 2 || name.length > 50) {
        throw new ConfigError(
            field,
            name,
            `is ${name.length} characters long, and an Alibaba lightweight server's name has 2 to 50`,
            "Use a node name of 2 to 50 characters (set nodeName to keep a longer component name).",
        );
    }
}

/** SWAS data disks come in steps of 20 GiB. */
function validateSwasDataDisk(field: string, size: number): void {
    if (!Number.isSafeInteger(size) || size < 20 || size % 20 !== 0) {
        const up = Number.isFinite(size) && size > 0 ? Math.ceil(size / 20) * 20 : 20;
        throw new ConfigError(field, size, "is not a multiple of 20 GiB, the step in which SWAS sells data disks", `Use e.g. ${up}.`);
    }
}
