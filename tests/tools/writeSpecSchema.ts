// Regenerates components/multicloud/clusterSpec.schema.json and the README's config table from the declaration
// (components/multicloud/clusterSpec.ts). `npm run spec:schema`; a test fails while either is out of step.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { specSchema, specTable } from "./specSchema";

export const SCHEMA_FILE = join(__dirname, "..", "..", "components", "multicloud", "clusterSpec.schema.json");
export const README = join(__dirname, "..", "..", "README.md");
export const TABLE_START = "<!-- spec-table:start (npm run spec:schema) -->";
export const TABLE_END = "<!-- spec-table:end -->";

export function readmeWithTable(readme: string, table: string): string {
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END);
    if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} ... ${TABLE_END} section`);
    return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

if (require.main === module) {
    const schema = specSchema();
    writeFileSync(SCHEMA_FILE, `${JSON.stringify(schema, null, 2)}\n`);
    writeFileSync(README, readmeWithTable(readFileSync(README, "utf8"), specTable(schema)));
    console.log(`wrote ${SCHEMA_FILE} and the README table`);
}
