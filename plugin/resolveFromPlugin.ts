import Module from "node:module";
import * as path from "node:path";

// When Pulumi installs this plugin it installs the dependencies here, in plugin/node_modules; the library's sources
// (../components) look for their packages by walking up from their own directory, which never passes through
// plugin/. NODE_PATH is Node's documented list of further places to look; it is read when the module system starts,
// so it is re-read after setting it. A checkout with the repository's own node_modules finds them before this.
const here = path.join(__dirname, "node_modules");
const paths = (process.env.NODE_PATH ?? "").split(path.delimiter).filter(Boolean);
if (!paths.includes(here)) {
    process.env.NODE_PATH = [here, ...paths].join(path.delimiter);
    (Module as unknown as { _initPaths(): void })._initPaths();
}
