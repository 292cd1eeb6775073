import { strict as assert } from "node:assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, normalize, relative, resolve } from "node:path";

/**
 * The rooms of components/, lowest first. A file may import from its own room and from the rooms below it, never
 * from a room above: the spec's words and the validation rules at the bottom, the data-only MulticloudCluster near
 * the top calling downward only, and doctor (which reads what a whole cluster exports) above everything.
 */
const ROOMS: readonly (readonly string[])[] = [
    ["spec", "validation"],
    ["network", "toolkit", "metrics"],
    ["mesh", "hosts"],
    ["annotations"],
    ["k3s"],
    ["multicloud"],
    ["doctor"],
];

const COMPONENTS = resolve(__dirname, "..", "..", "components");

function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const path = join(dir, entry);
        return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith(".ts") ? [path] : [];
    });
}

const roomOf = (folder: string) => ROOMS.findIndex((room) => room.includes(folder));

describe("the shape of components/: rooms that import downward only", () => {
    it("every folder of components/ has a room", () => {
        const folders = readdirSync(COMPONENTS).filter((entry) => statSync(join(COMPONENTS, entry)).isDirectory());
        assert.deepEqual(folders.filter((folder) => roomOf(folder) < 0), []);
    });

    it("no file imports from a room above its own", () => {
        const upward: string[] = [];
        let imports = 0;
        for (const file of filesUnder(COMPONENTS)) {
            const folder = relative(COMPONENTS, file).split("/")[0];
            if (folder.endsWith(".ts")) continue; // components/index.ts re-exports every room
            for (const [, target] of readFileSync(file, "utf8").matchAll(/^(?:import|export)[^;]*? from "(\.[^"]+)"/gm)) {
                const imported = relative(COMPONENTS, normalize(join(file, "..", target))).split("/")[0];
                if (imported === folder || imported.startsWith("..")) continue;
                imports++;
                if (roomOf(imported) > roomOf(folder)) upward.push(`${relative(COMPONENTS, file)} imports ${target} (${imported} is above ${folder})`);
            }
        }
        assert.ok(imports > 50, `only ${imports} imports across folders were read: the pattern no longer matches`);
        assert.deepEqual(upward, []);
    });
});

describe("the lab stands on its own", () => {
    it("imports nothing from tests/ (the tests import the lab's mocks and stand-ins, not the other way round)", () => {
        const lab = resolve(__dirname, "..", "..", "lab");
        const offending = filesUnder(lab).filter((file) => /from "(\.\.\/)+tests\//.test(readFileSync(file, "utf8"))).map((file) => relative(lab, file));
        assert.deepEqual(offending, []);
    });
});
