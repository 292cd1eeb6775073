import Module from "node:module";
import * as path from "node:path";

// When Pulumi installs this plugin it installs the dependencies here, in plugin/node_modules; the library's sources
// (../components) look for their packages by walking up from their own directory, which never passes through
// plugin/ - and does pass through every ancestor's node_modules (a ~/node_modules with another ajv or
// @pulumi/pulumi would win, and two Pulumi SDKs in one process break registration). So a package that one of the
// library's own files asks for is looked up from plugin/ first: plugin/node_modules, then the repository's
// node_modules (a development checkout), and only then what lies above. Packages inside node_modules resolve their
// own dependencies as usual (they find plugin/node_modules on their way up).
const pluginDir = __dirname;
const packageRoot = path.dirname(pluginDir);

type ResolveFilename = (request: string, parent: Module | undefined, isMain: boolean, options?: { paths?: string[] }) => string;
const moduleInternals = Module as unknown as { _resolveFilename: ResolveFilename };
const resolveFilename = moduleInternals._resolveFilename;

/** A bare package name (`ajv`, `@pulumi/pulumi/x`), not a relative, absolute or built-in module. */
function isPackageRequest(request: string): boolean {
    return !request.startsWith(".") && !path.isAbsolute(request) && !request.startsWith("node:") && !Module.builtinModules.includes(request);
}

/** One of the library's own files (outside any node_modules), which are the ones that walk past plugin/. */
function isLibraryFile(filename: string | undefined): boolean {
    return filename !== undefined && filename.startsWith(packageRoot + path.sep) && !filename.split(path.sep).includes("node_modules");
}

moduleInternals._resolveFilename = function (request, parent, isMain, options) {
    if (options?.paths === undefined && isPackageRequest(request) && isLibraryFile(parent?.filename)) {
        return resolveFilename.call(this, request, parent, isMain, { ...options, paths: [pluginDir] });
    }
    return resolveFilename.call(this, request, parent, isMain, options);
};
