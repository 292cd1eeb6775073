// Regenerates components/multicloud/clusterSpec.schema.json and the config table of docs/configuration.md from the declaration
// (components/multicloud/clusterSpec.ts). `npm run spec:schema`; a test fails while either is out of step.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { specSchema, specTable } from "./specSchema";

export const SCHEMA_FILE = join(__dirname, "..", "..", "components", "multicloud", "clusterSpec.schema.json");
export const CONFIG_DOC = join(__dirname, "..", "..", "docs", "configuration.md");
export const TABLE_START = "<!-- spec-table:start (npm run spec:schema) -->";
export const TABLE_END = "<!-- spec-table:end -->";

export function docWithTable(doc: string, table: string): string {
    const start = doc.indexOf(TABLE_START);
    const end = doc.indexOf(TABLE_END);
    if (start < 0 || end < start) throw new Error(`docs/configuration.md has no ${TABLE_START} ... ${TABLE_END} section`);
    return `${doc.slice(0, start + TABLE_START.length)}\n${table}\n${doc.slice(end)}`;
}

if (require.main === module) {
    const schema = specSchema();
    writeFileSync(SCHEMA_FILE, `${JSON.stringify(schema, null, 2)}\n`);
    writeFileSync(CONFIG_DOC, docWithTable(readFileSync(CONFIG_DOC, "utf8"), specTable(schema)));
    console.log(`wrote ${SCHEMA_FILE} and the table in ${CONFIG_DOC}`);
}
