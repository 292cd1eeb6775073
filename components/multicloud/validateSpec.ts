import * as pulumi from "@pulumi/pulumi";
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import { ConfigError, describeValue, throwIfAny } from "../validation/configError";
import { keysNamingNoNode, sharedPublicAddress } from "../k3s/clusterValidation";
import { nearestWord } from "../validation/suggest";
import { secretShapeOf } from "../validation/secretShapes";
import { ClusterSpec, NodeSpec } from "./clusterSpec";
import SPEC_SCHEMA from "./clusterSpec.schema.json";

/**
 * The shape check of a cluster spec: the JSON Schema generated from clusterSpec.ts, run by ajv (no type coercion: a
 * quoted number or `autoRenew: "yes"` is an error), every mistake at once, each one a ConfigError that names the
 * field as the user writes it and says the fix in YAML. Values the schema cannot judge (addresses, names, versions)
 * are checked by the components with their own messages.
 */

/** Where the spec comes from, which decides how a field is named in messages. */
export interface SpecSource {
    /** Where the spec is, for "N problems in ...". */
    readonly where: string;
    /** Prefix of every field: `k3s-multicloud:` in a stack file, `MulticloudCluster(dev) ` for the component. */
    readonly prefix: string;
    /** The schema definition the top level is checked against: the stack file has no `secrets` (they are encrypted config). */
    readonly definition: "ClusterSpec" | "MulticloudClusterArgs";
    /**
     * The problem and fix for an unknown top-level key, given its value and the whole spec; `hide`: the message must
     * not show the value (a secret given in plain text).
     */
    readonly unknownTopLevel: (key: string, near: string | undefined, allowed: readonly string[], value: unknown, spec: unknown) => { problem: string; fix: string; hide?: boolean };
}

/**
 * The secret a node's SSH session needs, by name: Vultr servers use `sshPrivateKey`, an existing server its
 * `passwordSecret`, else its `privateKeySecret` (default `sshPrivateKey`); a SWAS server none (its root password is
 * generated).
 */
export function secretNameOf(node: NodeSpec): string | undefined {
    if (node.cloud === "vultr") return "sshPrivateKey";
    if (node.cloud === "existing") return node.passwordSecret ?? node.privateKeySecret ?? "sshPrivateKey";
    return undefined;
}

/** The secret names the spec's nodes use, as far as its shape can be read. */
function secretNamesIn(spec: unknown): string[] {
    const nodes = isRecord(spec) && Array.isArray(spec.nodes) ? spec.nodes.filter(isRecord) : [];
    return nodes.map((node) => secretNameOf(node as unknown as NodeSpec)).filter((name): name is string => typeof name === "string");
}

export const STACK_FILE: SpecSource = {
    where: "the stack config",
    prefix: "k3s-multicloud:",
    definition: "ClusterSpec",
    unknownTopLevel: (key, near, allowed, value, spec) => {
        // Encrypted values never get here (readConfig skips them): this one was set without --secret.
        if (secretNamesIn(spec).includes(key)) {
            return {
                problem: "is the secret a node logs in with, stored in plain text (set without --secret)",
                fix: `Store it encrypted: \`pulumi config rm k3s-multicloud:${key}\`, then \`pulumi config set --secret k3s-multicloud:${key} < <file>\`.`,
                hide: true,
            };
        }
        const shape = typeof value === "string" ? secretShapeOf(value) : undefined;
        if (shape) {
            return {
                problem: `is not a setting of this program, and holds what looks like ${shape} in plain text`,
                fix: `Remove it (\`pulumi config rm k3s-multicloud:${key}\`); a node's key or password is set with \`pulumi config set --secret\` under the name its settings give (docs/configuration.md, "Stack config").`,
                hide: true,
            };
        }
        return {
            problem: "is not a setting of this program",
            fix: near
                ? `Did you mean ${near}? Write it as \`k3s-multicloud:${near}: ...\` in the stack file.`
                : `Use one of ${allowed.join(", ")} (docs/configuration.md, "Stack config").`,
        };
    },
};

export function componentSource(name: string): SpecSource {
    return {
        where: `the inputs of MulticloudCluster(${name})`,
        prefix: `MulticloudCluster(${name}).`,
        definition: "MulticloudClusterArgs",
        unknownTopLevel: (_key, near, allowed) => ({
            problem: "is not an input of MulticloudCluster",
            fix: near ? `Did you mean ${near}?` : `Use one of ${allowed.join(", ")}.`,
        }),
    };
}

type JsonSchema = { [key: string]: unknown; properties?: Record<string, JsonSchema>; required?: string[] };
const DEFINITIONS = SPEC_SCHEMA.definitions as unknown as Record<string, JsonSchema>;

let ajv: Ajv | undefined;
function validatorFor(definition: string): ValidateFunction {
    // Created on first use: ajv compiles each definition to code once.
    if (!ajv) {
        // strictRequired off: the per-cloud if/then requires settings that NodeSpec itself declares.
        ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false });
        ajv.addKeyword("x-clouds");
        ajv.addKeyword("x-required-for");
        ajv.addKeyword("x-input");
        ajv.addSchema(SPEC_SCHEMA);
    }
    return ajv.getSchema(`${SPEC_SCHEMA.$id}#/definitions/${definition}`)!;
}

/**
 * Checks a plain spec (a stack file's values, or a component's inputs with every Output replaced by a placeholder)
 * and returns it typed; throws one ConfigError, or ConfigErrors listing every mistake.
 */
export function checkClusterSpec<T extends ClusterSpec = ClusterSpec>(raw: unknown, source: SpecSource): T {
    const legacy = legacyForms(raw, source);
    const validate = validatorFor(source.definition);
    const errors = validate(raw) ? [] : (validate.errors ?? []);
    const explained = [...legacy, ...errors.flatMap((e) => explain(e, raw, source))];
    // A mistyped role (role: master) already says why no node is a server.
    const roleTypo = explained.some((f) => /nodes\[\d+\]\.role$/.test(f.error.field));
    const shape = roleTypo ? explained.filter((f) => f.keyword !== "contains") : explained;
    // What needs a valid shape to judge: names across pools, and per-node settings for nodes that exist.
    const found = shape.length > 0 ? shape : crossFieldProblems(raw as ClusterSpec, source);
    // One message per field (ajv may find a wrong type and a range on the same value), in the file's order.
    const byField = new Map<string, Found>();
    for (const f of found) if (!byField.has(f.error.field)) byField.set(f.error.field, f);
    const unique = [...byField.values()].sort((a, b) => comparePositions(a.position, b.position));
    throwIfAny(unique.map((f) => f.error), source.where);
    return raw as T;
}

/** What the shape check sees in place of a value that is known only at deployment (an Output). */
const AT_DEPLOYMENT = "(known at deployment)";

/**
 * A program's inputs as the shape check sees them. An Output (or a Promise) where the declaration allows one
 * (pulumi.Input: node addresses, host keys, secrets) becomes a placeholder; anywhere else it is refused, because
 * the cluster's structure - its nodes, their clouds, the options - decides which resources exist and must be known
 * when the program runs.
 */
export function plainViewOf(args: unknown, source: SpecSource): unknown {
    const problems: ConfigError[] = [];
    const walk = (value: unknown, schema: JsonSchema | undefined, segments: string[]): unknown => {
        const target = resolveSchema(schema);
        if (pulumi.Output.isInstance(value) || value instanceof Promise) {
            if (target?.["x-input"] === true) return AT_DEPLOYMENT;
            problems.push(
                new ConfigError(
                    fieldName(source.prefix, segments),
                    "(an output)",
                    "must be known when the program runs, not an output of another resource",
                    "Write it as a plain value; only node addresses (publicIp, privateIp), host keys and secrets may be outputs.",
                ),
            );
            return AT_DEPLOYMENT;
        }
        if (Array.isArray(value)) return value.map((item, i) => walk(item, childSchema(target, String(i)), [...segments, String(i)]));
        if (isRecord(value)) {
            return Object.fromEntries(
                Object.entries(value)
                    .filter(([, v]) => v !== undefined)
                    .map(([k, v]) => [k, walk(v, childSchema(target, k), [...segments, k])]),
            );
        }
        return value;
    };
    const view = walk(args, DEFINITIONS[source.definition], []);
    throwIfAny(problems, source.where);
    return view;
}

/** The schema that describes the value at a path (object keys and list indexes), definitions resolved. */
function schemaAt(root: JsonSchema | undefined, segments: readonly string[]): JsonSchema | undefined {
    let schema = resolveSchema(root);
    for (const segment of segments) schema = resolveSchema(childSchema(schema, segment));
    return schema;
}

/** The schema of one list item or map entry inside a schema, as written (a reference is not resolved). */
function childSchema(schema: JsonSchema | undefined, segment: string): JsonSchema | undefined {
    if (!schema) return undefined;
    const next = /^\d+$/.test(segment) && schema.items ? schema.items : (schema.properties?.[segment] ?? schema.additionalProperties);
    return typeof next === "object" ? (next as JsonSchema) : undefined;
}

function resolveSchema(schema: JsonSchema | undefined): JsonSchema | undefined {
    if (!schema) return undefined;
    const ref = (schema.$ref ?? (schema.allOf as JsonSchema[] | undefined)?.[0]?.$ref) as string | undefined;
    return ref ? DEFINITIONS[ref.split("/").pop()!] : schema;
}

/** A node entry with `count: N` becomes N nodes named `<name>-1` to `<name>-N` with the same settings. */
export function expandNodePools(nodes: readonly NodeSpec[]): NodeSpec[] {
    return nodes.flatMap((node) => {
        if (node.count === undefined) return [node];
        const { count, ...settings } = node;
        return Array.from({ length: count }, (_, i) => ({ ...settings, name: `${node.name}-${i + 1}` }));
    });
}

/** The settings a node of this cloud may have, in declaration order. */
function nodeSettingsFor(cloud: unknown): string[] {
    return Object.entries(DEFINITIONS.NodeSpec.properties!)
        .filter(([, p]) => !Array.isArray(p["x-clouds"]) || (p["x-clouds"] as string[]).includes(String(cloud)))
        .map(([name]) => name);
}

interface Found {
    readonly error: ConfigError;
    /** The schema keyword that found it (ajv's), when one did. */
    readonly keyword?: string;
    /** Where the field is in the input, as key/index positions, for sorting in the file's order. */
    readonly position: number[];
}

/**
 * Node names are the cluster's identities: each one once, pools' members included; per-node annotations, labels
 * and taints only for nodes that exist (a typo'd name would silently apply to nothing).
 */
function crossFieldProblems(spec: ClusterSpec, source: SpecSource): Found[] {
    const problems: Found[] = [];
    const owner = new Map<string, number>();
    spec.nodes.forEach((node, index) => {
        for (const name of expandNodePools([node]).map((n) => n.name)) {
            const first = owner.get(name);
            if (first === undefined) {
                owner.set(name, index);
                continue;
            }
            const what = name === node.name ? "" : ` (a member of the pool ${node.name})`;
            problems.push({
                error: new ConfigError(`${source.prefix}nodes[${index}].name`, node.name, `gives ${JSON.stringify(name)}${what}, which nodes[${first}] already names`, "Give each node its own name; a pool names its nodes <name>-1 to <name>-<count>."),
                position: positionOf(spec, ["nodes", String(index), "name"]),
            });
        }
    });
    // Existing servers name their public address in the file: two behind one address are refused now (cloud servers'
    // addresses are checked by the cluster once known).
    const existing = spec.nodes.map((node, index) => ({ node, index })).filter(({ node }) => node.cloud === "existing" && typeof node.publicIp === "string");
    const shared = sharedPublicAddress(`${source.prefix}nodes`, existing.map(({ node }) => ({ name: node.name, publicIp: node.publicIp as string })));
    if (shared) {
        const second = existing.filter(({ node }) => node.publicIp === shared.value)[1];
        problems.push({ error: shared, position: positionOf(spec, ["nodes", String(second.index), "publicIp"]) });
    }
    // One credential per existing server: with both, which one logs in would be a guess.
    spec.nodes.forEach((node, index) => {
        if (node.cloud === "existing" && node.privateKeySecret !== undefined && node.passwordSecret !== undefined) {
            problems.push({
                error: new ConfigError(
                    `${source.prefix}nodes[${index}].passwordSecret`,
                    node.passwordSecret,
                    `is given together with privateKeySecret (${JSON.stringify(node.privateKeySecret)}): a node logs in with one of them`,
                    "Keep the one the server accepts and remove the other.",
                ),
                position: positionOf(spec, ["nodes", String(index), "passwordSecret"]),
            });
        }
    });
    const names = [...owner.keys()];
    const perNode = { nodeAnnotations: spec.nodeAnnotations, nodeLabels: spec.nodeLabels, nodeTaints: spec.nodeTaints };
    for (const [key, name] of keysNamingNoNode(perNode, new Set(names))) {
        const near = nearestWord(name, names);
        problems.push({
            error: new ConfigError(
                fieldName(source.prefix, [key, name]),
                name,
                "names no node of this cluster",
                `${near ? `Did you mean ${near}? ` : ""}Key it by a node name: ${names.join(", ")}.`,
            ),
            position: positionOf(spec, [key, name]),
        });
    }
    return problems;
}

/** Forms an earlier release read that this one spells differently: refused with the new spelling. */
function legacyForms(raw: unknown, source: SpecSource): Found[] {
    const nodes = isRecord(raw) && Array.isArray(raw.nodes) ? raw.nodes : [];
    return nodes.flatMap((node: unknown, index): Found[] => {
        if (!isRecord(node) || node.cloud !== "aliyun" || !isRecord(node.plan)) return [];
        const size = Object.entries(node.plan).map(([k, v]) => `${k}: ${describeValue(v)}`).join(", ");
        return [{
            error: new ConfigError(
                `${source.prefix}nodes[${index}].plan`,
                node.plan,
                "an Alibaba plan chosen by size is called planSize since release 0.3.0",
                `Write it as planSize: {${size}}.`,
            ),
            position: positionOf(raw, ["nodes", String(index), "plan"]),
        }];
    });
}

function explain(error: ErrorObject, root: unknown, source: SpecSource): Found[] {
    const segments = error.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    const schema = (error.parentSchema ?? {}) as JsonSchema;
    const at = (extra: string[]) => ({ field: fieldName(source.prefix, [...segments, ...extra]), position: positionOf(root, [...segments, ...extra]) });
    const make = (extra: string[], value: unknown, problem: string, fix: string): Found[] => {
        const { field, position } = at(extra);
        return [{ error: new ConfigError(field, value, problem, fix), position, keyword: error.keyword }];
    };
    const parentData = valueAt(root, segments.slice(0, -1));
    const property = segments[segments.length - 1];
    switch (error.keyword) {
        case "additionalProperties": {
            const key = String(error.params.additionalProperty);
            const data = error.data as Record<string, unknown>;
            if (segments.length === 0) {
                const allowed = Object.keys(DEFINITIONS[source.definition].properties!);
                const { problem, fix, hide } = source.unknownTopLevel(key, nearestWord(key, allowed), allowed, data[key], root);
                return make([key], hide ? "(hidden)" : data[key], problem, fix);
            }
            const allowed = isNodePath(segments) ? nodeSettingsFor(data.cloud) : Object.keys(schema.properties ?? {});
            return make([key], data[key], "is not a setting here", unknownKeyFix(key, allowed));
        }
        case "false schema": {
            // A node setting of another cloud (NodeSpec's per-cloud if/then).
            const node = parentData as Record<string, unknown>;
            const allowed = nodeSettingsFor(node.cloud);
            const owners = (DEFINITIONS.NodeSpec.properties![property]?.["x-clouds"] as string[] | undefined) ?? [];
            return make([], node[property], `is a setting of ${listText(owners, "and")} nodes, not of a ${String(node.cloud)} node`, unknownKeyFix(property, allowed));
        }
        case "required": {
            const missing = String(error.params.missingProperty);
            const target = schemaAt(DEFINITIONS[source.definition], segments)?.properties?.[missing] ?? {};
            const example = (target.examples as unknown[] | undefined)?.[0];
            // A conditional requirement (a then-branch) says when: "for a vultr node", "when a node is on Vultr".
            const when = typeof schema.description === "string" && error.schemaPath.includes("/then/") ? ` ${schema.description}` : "";
            return make([missing], undefined, `is required${when}`, example !== undefined ? `Set it, e.g. ${missing}: ${String(example)}.` : `Set ${missing}.`);
        }
        case "type":
            return make([], error.data, typeProblem(schema), typeFix(schema, error.data));
        case "minimum":
        case "maximum":
            return make([], error.data, schema.type === "integer" ? typeProblem(schema) : `must be ${rangeText(schema)}`, typeFix(schema, error.data));
        case "enum": {
            const choices = (error.params.allowedValues as unknown[]).map((v) => (typeof v === "string" ? `"${v}"` : String(v)));
            return make([], error.data, "is not one of the choices", `Use ${listText(choices, "or")}.`);
        }
        case "contains": {
            // "at least one node with role: server": said as the entry the list lacks.
            const wanted = Object.entries(((schema.contains as JsonSchema | undefined)?.properties ?? {}) as Record<string, { const?: unknown }>)
                .filter(([, p]) => p.const !== undefined)
                .map(([key, p]) => `${key}: ${String(p.const)}`);
            return make([], error.data, `has no entry with ${wanted.join(", ")}`, `Give one entry ${wanted.join(", ")}${property === "nodes" ? " (the control plane; agents may be in any cloud)" : ""}.`);
        }
        case "minItems":
            return make([], error.data, `must list at least ${String(error.params.limit)} ${error.params.limit === 1 ? "entry" : "entries"}`, property === "nodes" ? 'List at least one server (docs/configuration.md, "Stack config").' : "Add an entry, or leave the setting out.");
        case "minLength": {
            const container = schemaAt(DEFINITIONS[source.definition], segments.slice(0, -1));
            const example = (schema.examples as unknown[] | undefined)?.[0];
            const fix = container?.required?.includes(property)
                ? example !== undefined
                    ? `Set it, e.g. ${property}: ${String(example)}.`
                    : "Give a value."
                : "Give a value, or leave the setting out.";
            return make([], error.data, "must not be empty", fix);
        }
        case "if":
        case "const":
            // The conditions of if/then and contains (a cloud, a role): reported through the branch's own errors or the
            // list's `contains`, never as a mistake of the entry itself.
            return [];
        default:
            return make([], error.data, error.message ?? "is not valid", "See docs/configuration.md, \"Stack config\".");
    }
}

function typeProblem(schema: JsonSchema): string {
    switch (schema.type) {
        case "boolean":
            return "must be true or false";
        case "integer":
            if (schema.minimum === 1 && schema.maximum === undefined) return "must be a positive whole number";
            return `must be a whole number${schema.minimum !== undefined || schema.maximum !== undefined ? ` ${rangeText(schema)}` : ""}`;
        case "number":
            return "must be a number";
        case "string":
            return "must be a string";
        case "array":
            return "must be a list";
        default:
            return "must be a map";
    }
}

function typeFix(schema: JsonSchema, value: unknown): string {
    switch (schema.type) {
        case "boolean":
            return "Write it without quotes: true or false.";
        case "integer":
        case "number":
            return `Write it without quotes, e.g. ${String((schema.examples as unknown[] | undefined)?.[0] ?? schema.default ?? schema.minimum ?? 1)}.`;
        case "string": {
            if (typeof value === "number" || typeof value === "boolean") return `Quote it: "${String(value)}".`;
            const example = (schema.examples as unknown[] | undefined)?.[0];
            return example !== undefined ? `Write it as one string, e.g. ${String(example)}.` : "Write it as one string.";
        }
        case "array":
            return 'Write it as a YAML list, e.g. ["203.0.113.0/24"].';
        default:
            return "Write it as a YAML map, e.g. {key: value}; quote numbers.";
    }
}

function rangeText(schema: JsonSchema): string {
    const { minimum, maximum } = schema as { minimum?: number; maximum?: number };
    if (minimum !== undefined && maximum !== undefined) return `from ${minimum} to ${maximum}`;
    if (minimum !== undefined) return `of at least ${minimum}`;
    return `of at most ${maximum}`;
}

function unknownKeyFix(key: string, allowed: readonly string[]): string {
    const near = nearestWord(key, allowed);
    return near ? `Did you mean ${near}? Write it as \`${near}: ...\`. Settings here: ${allowed.join(", ")}.` : `Use one of ${allowed.join(", ")}.`;
}

function listText(items: readonly string[], word: string): string {
    return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} ${word} ${items[items.length - 1]}`;
}

function isNodePath(segments: readonly string[]): boolean {
    return segments.length === 2 && segments[0] === "nodes";
}

/** `nodes[0].planSize.core`, `nodeLabels["tokyo-1"]`: as the user would point at it. */
function fieldName(prefix: string, segments: readonly string[]): string {
    let text = "";
    for (const segment of segments) {
        if (/^\d+$/.test(segment)) text += `[${segment}]`;
        else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) text += text === "" ? segment : `.${segment}`;
        else text += `[${JSON.stringify(segment)}]`;
    }
    return `${prefix}${text}`;
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
    let value = root;
    for (const segment of segments) value = isRecord(value) || Array.isArray(value) ? (value as Record<string, unknown>)[segment] : undefined;
    return value;
}

function positionOf(root: unknown, segments: readonly string[]): number[] {
    const position: number[] = [];
    let value = root;
    for (const segment of segments) {
        if (Array.isArray(value)) position.push(Number(segment));
        else if (isRecord(value)) {
            const index = Object.keys(value).indexOf(segment);
            position.push(index < 0 ? Number.MAX_SAFE_INTEGER : index);
        }
        value = isRecord(value) || Array.isArray(value) ? (value as Record<string, unknown>)[segment] : undefined;
    }
    return position;
}

function comparePositions(a: readonly number[], b: readonly number[]): number {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
