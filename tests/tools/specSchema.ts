import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ts from "typescript";

/**
 * Reads components/multicloud/clusterSpec.ts - the one declaration of the cluster spec - and the words it uses
 * (components/spec/vocabulary.ts) with the TypeScript compiler
 * and produces its JSON Schema (draft-07): one definition per interface and per `as const` choice, descriptions from
 * the doc comments, constraints from the JSDoc tags the declaration documents; `x-input` marks what a program may
 * pass as an Output (pulumi.Input<T>). Every node setting also carries
 * `x-clouds` (where it applies), and NodeSpec gets one if/then per cloud that refuses the other clouds' settings and
 * requires that cloud's own, so an editor flags both.
 */

type Schema = Record<string, unknown>;

const DECLARATION = join(__dirname, "..", "..", "components", "multicloud", "clusterSpec.ts");
/** The spec's words (roles, clouds, modes), one room down; the declaration re-exports them. */
const VOCABULARY = join(__dirname, "..", "..", "components", "spec", "vocabulary.ts");
const CLOUDS = ["aliyun", "vultr", "existing"];

export function specSchema(): Schema {
    // Syntax only: the declaration's types are written out in full, so no type checker is needed.
    const source = ts.createSourceFile(DECLARATION, readFileSync(DECLARATION, "utf8"), ts.ScriptTarget.ES2022, true);
    const vocabulary = ts.createSourceFile(VOCABULARY, readFileSync(VOCABULARY, "utf8"), ts.ScriptTarget.ES2022, true);
    const definitions: Record<string, Schema> = {};

    const docOf = (node: ts.Node): { text: string; tags: Map<string, string> } => {
        const tags = new Map<string, string>();
        for (const tag of ts.getJSDocTags(node)) tags.set(tag.tagName.text, ts.getTextOfJSDocComment(tag.comment)?.trim() ?? "");
        const docs = (node as unknown as { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
        const text = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? "").join("\n").trim();
        return { text, tags };
    };

    const choiceOf = (alias: ts.TypeAliasDeclaration): void => {
        const name = alias.name.text;
        const constant = alias.getSourceFile().statements
            .filter(ts.isVariableStatement)
            .flatMap((s) => [...s.declarationList.declarations])
            .find((d) => ts.isIdentifier(d.name) && d.name.text === name);
        const object = constant?.initializer && ts.isAsExpression(constant.initializer) ? constant.initializer.expression : undefined;
        if (!object || !ts.isObjectLiteralExpression(object)) throw new Error(`${name}: a choice must be an \`as const\` object`);
        const members = object.properties.filter(ts.isPropertyAssignment).map((p) => ({
            value: (p.initializer as ts.StringLiteral).text,
            doc: docOf(p).text,
        }));
        const statement = constant!.parent.parent;
        const doc = docOf(statement).text;
        const explained = members.map((m) => (m.doc ? `"${m.value}": ${m.doc}` : `"${m.value}"`)).join(" ");
        definitions[name] = { type: "string", enum: members.map((m) => m.value), description: `${doc} ${explained}`.trim() };
    };

    const typeSchema = (node: ts.TypeNode): Schema => {
        if (node.kind === ts.SyntaxKind.StringKeyword) return { type: "string", minLength: 1 };
        if (node.kind === ts.SyntaxKind.NumberKeyword) return { type: "number" };
        if (node.kind === ts.SyntaxKind.BooleanKeyword) return { type: "boolean" };
        if (node.kind === ts.SyntaxKind.AnyKeyword) return {};
        if (ts.isArrayTypeNode(node)) return { type: "array", items: typeSchema(node.elementType) };
        if (ts.isTypeLiteralNode(node)) {
            const index = node.members.find(ts.isIndexSignatureDeclaration);
            if (!index || node.members.length !== 1) throw new Error(`only maps ({ [key: string]: T }) may be written inline: ${node.getText(source)}`);
            return { type: "object", additionalProperties: typeSchema(index.type) };
        }
        if (ts.isTypeReferenceNode(node)) {
            const name = node.typeName.getText(source);
            // pulumi.Input<T>: in a stack file always a plain T; a program may pass an Output (checked when known).
            if (name === "pulumi.Input") return { ...typeSchema(node.typeArguments![0]), "x-input": true };
            return { $ref: `#/definitions/${name}` };
        }
        throw new Error(`unsupported type in the declaration: ${node.getText(source)}`);
    };

    const applyTags = (target: Schema, tags: Map<string, string>): Schema => {
        if (tags.has("integer")) target.type = "integer";
        for (const key of ["minimum", "maximum", "minItems"]) if (tags.has(key)) target[key] = Number(tags.get(key));
        if (tags.has("contains")) target.contains = JSON.parse(tags.get("contains")!);
        // A number from a fixed list (e.g. the terms a cloud sells), written as a JSON array.
        if (tags.has("oneOfValues")) target.enum = JSON.parse(tags.get("oneOfValues")!);
        if (tags.has("default")) target.default = parseTagValue(tags.get("default")!);
        if (tags.has("example")) target.examples = [parseTagValue(tags.get("example")!)];
        if (tags.has("clouds")) target["x-clouds"] = tags.get("clouds")!.split(/\s+/);
        if (tags.has("requiredFor")) target["x-required-for"] = tags.get("requiredFor")!.split(/\s+/);
        return target;
    };

    for (const statement of [...vocabulary.statements, ...source.statements]) {
        if (ts.isTypeAliasDeclaration(statement)) choiceOf(statement);
    }
    const requiredFor = new Map<string, string[]>();
    for (const statement of source.statements) {
        if (!ts.isInterfaceDeclaration(statement)) continue;
        const properties: Record<string, Schema> = {};
        const required: string[] = [];
        const heritage = statement.heritageClauses?.flatMap((h) => h.types.map((t) => t.expression.getText(source))) ?? [];
        for (const member of statement.members) {
            if (!ts.isPropertySignature(member) || !member.type) continue;
            const name = member.name.getText(source);
            const { text, tags } = docOf(member);
            const schema = applyTags(typeSchema(member.type), tags);
            const described = schema.$ref ? { allOf: [{ $ref: schema.$ref }], ...withoutRef(schema) } : schema;
            properties[name] = text ? { description: text, ...described } : described;
            if (!member.questionToken) required.push(name);
            for (const cloud of tags.get("requiredFor")?.split(/\s+/) ?? []) requiredFor.set(cloud, [...(requiredFor.get(cloud) ?? []), name]);
        }
        const definition: Schema = {
            type: "object",
            description: docOf(statement).text,
            properties,
            ...(required.length > 0 ? { required } : {}),
            additionalProperties: false,
        };
        if (heritage.length > 0) {
            // An extension (MulticloudClusterArgs extends ClusterSpec): the parent's settings plus its own.
            const parent = definitions[heritage[0]] as { properties: Record<string, Schema>; required?: string[] };
            definition.properties = { ...parent.properties, ...properties };
            definition.required = [...(parent.required ?? []), ...required];
        }
        definitions[statement.name.text] = definition;
    }

    // Vultr servers get the cluster's SSH public key.
    const vultrKey = {
        if: { properties: { nodes: { type: "array", contains: { type: "object", properties: { cloud: { const: "vultr" } }, required: ["cloud"] } } }, required: ["nodes"] },
        then: { description: "when a node is on Vultr", required: ["sshPublicKey"] },
    };
    for (const name of ["ClusterSpec", "MulticloudClusterArgs"]) (definitions[name] as Schema).allOf = [vultrKey];

    // Per cloud: the other clouds' settings are refused, that cloud's required ones required.
    const node = definitions.NodeSpec as { properties: Record<string, Schema>; allOf?: Schema[] };
    node.allOf = CLOUDS.map((cloud) => ({
        if: { type: "object", properties: { cloud: { const: cloud } }, required: ["cloud"] },
        then: {
            description: `for a ${cloud} node`,
            ...(requiredFor.has(cloud) ? { required: requiredFor.get(cloud) } : {}),
            properties: Object.fromEntries(
                Object.entries(node.properties)
                    .filter(([, p]) => Array.isArray(p["x-clouds"]) && !(p["x-clouds"] as string[]).includes(cloud))
                    .map(([name]) => [name, false]),
            ),
        },
    }));

    return {
        $schema: "http://json-schema.org/draft-07/schema#",
        $id: "https://k3s-multicloud.dev/schemas/cluster-spec.json",
        title: "k3s-multicloud cluster spec",
        description: "Generated from components/multicloud/clusterSpec.ts by `npm run spec:schema`; do not edit.",
        definitions,
        // A stack file: Pulumi.<stack>.yaml with the spec under `config`, each key in the k3s-multicloud namespace.
        type: "object",
        properties: {
            config: {
                type: "object",
                properties: Object.fromEntries(
                    Object.entries((definitions.ClusterSpec as { properties: Record<string, Schema> }).properties).map(([key, value]) => [`k3s-multicloud:${key}`, value]),
                ),
                required: (definitions.ClusterSpec as { required: string[] }).required.map((key) => `k3s-multicloud:${key}`),
                // Other namespaces (vultr:apiKey, alicloud:*) are theirs; another k3s-multicloud key must be an
                // encrypted secret (`pulumi config set --secret`): the SSH keys and passwords nodes name.
                patternProperties: { "^(?!k3s-multicloud:)": {} },
                additionalProperties: {
                    type: "object",
                    properties: { secure: { type: "string" } },
                    required: ["secure"],
                    additionalProperties: false,
                },
            },
        },
    };
}

function withoutRef(schema: Schema): Schema {
    const { $ref: _ref, ...rest } = schema;
    void _ref;
    return rest;
}

function parseTagValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** The config table of docs/configuration.md: one row per stack setting and node setting, from the same schema. */
export function specTable(schema: Schema): string {
    const definitions = schema.definitions as Record<string, { properties: Record<string, Schema>; required?: string[] }>;
    const typeText = (p: Schema): string => {
        const ref = (p.$ref ?? (p.allOf as Schema[] | undefined)?.[0]?.$ref) as string | undefined;
        if (ref) {
            const target = definitions[ref.split("/").pop()!] as unknown as Schema;
            return target.enum ? (target.enum as string[]).map((v) => `\`${v}\``).join(" / ") : `map (${ref.split("/").pop()})`;
        }
        if (p.type === "array") return `list of ${typeText(p.items as Schema)}`;
        if (p.type === "object") return p.additionalProperties && Object.keys(p.additionalProperties as Schema).length > 0 ? `map of ${typeText(p.additionalProperties as Schema)}` : "map";
        if (p.type === "integer" && p.enum) return `one of ${(p.enum as number[]).join(", ")}`;
        if (p.type === "integer") {
            const range = p.maximum !== undefined ? ` ${p.minimum}-${p.maximum}` : p.minimum !== undefined ? ` >= ${p.minimum}` : "";
            return `whole number${range}`;
        }
        return String(p.type ?? "any");
    };
    const rows = (definition: string, prefix: string): string[] => {
        const { properties, required = [] } = definitions[definition];
        return Object.entries(properties).map(([name, p]) => {
            const clouds = p["x-clouds"] ? ` (${(p["x-clouds"] as string[]).join(", ")})` : "";
            const requiredFor = p["x-required-for"] as string[] | undefined;
            const need = required.includes(name)
                ? "required"
                : requiredFor
                  ? `required (${requiredFor.join(", ")})`
                  : p.default !== undefined
                    ? `\`${typeof p.default === "string" ? p.default : JSON.stringify(p.default)}\``
                    : "";
            return `| \`${prefix}${name}\`${clouds} | ${typeText(p)} | ${need} | ${String(p.description ?? "").replace(/\n/g, " ").replace(/\|/g, "\\|")} |`;
        });
    };
    return [
        "| setting | type | required / default | what it does |",
        "| --- | --- | --- | --- |",
        ...rows("ClusterSpec", ""),
        ...rows("NodeSpec", "nodes[]."),
        ...rows("ClusterOptionsSpec", "options."),
    ].join("\n");
}
