import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";

/* eslint-disable @typescript-eslint/no-require-imports */
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
const enginepb = require("@pulumi/pulumi/proto/engine_pb");
const resgrpc = require("@pulumi/pulumi/proto/resource_grpc_pb");
const respb = require("@pulumi/pulumi/proto/resource_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

/** One resource the plugin asked the engine to register. */
export interface EngineRegistration {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly parent: string;
    readonly custom: boolean;
    readonly inputs: Record<string, unknown>;
    readonly dependencies: string[];
    readonly propertyDependencies: Record<string, string[]>;
}

/**
 * The two services a Pulumi plugin calls back while it constructs a component - the engine (log, root resource) and
 * the resource monitor (features, registrations) - on a real gRPC server on loopback, as `pulumi up` provides them.
 * Like ordinary mocks, a custom resource's outputs are its inputs and its id is `<name>-id`; nothing is created.
 */
export class FakeEngine {
    readonly registrations: EngineRegistration[] = [];
    readonly logs: Array<{ severity: number; message: string }> = [];
    private server = new grpc.Server();
    private port = 0;

    constructor(
        readonly stack: string,
        readonly project: string,
        /** Features the monitor claims (secrets, resourceReferences, outputValues, aliasSpecs, ...). */
        private readonly features: readonly string[] = ["secrets", "resourceReferences", "outputValues", "aliasSpecs", "deletedWith"],
    ) {}

    get address(): string {
        return `127.0.0.1:${this.port}`;
    }

    get rootUrn(): string {
        return `urn:pulumi:${this.stack}::${this.project}::pulumi:pulumi:Stack::${this.project}-${this.stack}`;
    }

    async start(): Promise<void> {
        const empty = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, new emptyproto.Empty());
        this.server.addService(engrpc.EngineService, {
            log: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                this.logs.push({ severity: call.request.getSeverity(), message: call.request.getMessage() });
                callback(null, new emptyproto.Empty());
            },
            getRootResource: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                callback(null, new enginepb.GetRootResourceResponse().setUrn(this.rootUrn));
            },
            setRootResource: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, new enginepb.SetRootResourceResponse()),
        });
        this.server.addService(resgrpc.ResourceMonitorService, {
            supportsFeature: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                callback(null, new respb.SupportsFeatureResponse().setHassupport(this.features.includes(call.request.getId())));
            },
            registerResource: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                const req = call.request;
                const registration = this.register(req);
                const response = new respb.RegisterResourceResponse().setUrn(registration.urn);
                if (registration.custom) {
                    response.setId(`${registration.name}-id`);
                    response.setObject(structproto.Struct.fromJavaScript(registration.inputs as Record<string, structproto.JavaScriptValue>));
                }
                callback(null, response);
            },
            registerResourceOutputs: empty,
            invoke: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                callback(null, new respb.InvokeResponse().setReturn(structproto.Struct.fromJavaScript({})));
            },
            signalAndWaitForShutdown: empty,
        });
        this.port = await new Promise<number>((resolve, reject) =>
            this.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
        );
    }

    async stop(): Promise<void> {
        await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    }

    private register(req: any): EngineRegistration {
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        // The engine qualifies a type with its parent's whole type chain; the stack itself is not part of it.
        const parentType = parent && parent !== this.rootUrn ? parent.split("::")[2] : undefined;
        const urn = `urn:pulumi:${this.stack}::${this.project}::${parentType ? `${parentType}$${type}` : type}::${name}`;
        const propertyDependencies: Record<string, string[]> = {};
        for (const [key, deps] of req.getPropertydependenciesMap().entries()) propertyDependencies[key] = deps.getUrnsList();
        const registration: EngineRegistration = {
            urn,
            type,
            name,
            parent,
            custom: req.getCustom(),
            inputs: (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
            dependencies: req.getDependenciesList(),
            propertyDependencies,
        };
        this.registrations.push(registration);
        return registration;
    }
}
