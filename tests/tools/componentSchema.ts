// `npm run schema`: the package schema Pulumi infers for the component package (plugin/) - what
// `pulumi package add` generates the Python, Go, .NET and YAML SDKs from. Pinned by tests/golden/component-schema.json.
import { join } from "node:path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { MulticloudCluster } from "../../plugin";

export async function componentSchema(): Promise<Record<string, unknown>> {
    const provider = new ComponentProvider({ components: [MulticloudCluster], dirname: join(__dirname, "..", "..", "plugin"), name: "k3s-multicloud" });
    return JSON.parse(await provider.getSchema()) as Record<string, unknown>;
}

if (require.main === module) {
    componentSchema().then(
        (schema) => console.log(JSON.stringify(schema, null, 2)),
        (error: Error) => {
            console.error(`error: ${error.message}`);
            process.exit(1);
        },
    );
}
