// The runtime variants the bench's diagnostic rows run (bench/evaluateOnce.ts, bench/sdkFloorOnce.ts).

/**
 * Diagnostic variants that change the runtime, not our program, to show where the time goes: without the SDK's
 * per-promise stack capture (`debuggablePromise` records `new Error().stack` on every promise it creates, for its
 * leak report), and without source-mapped stack traces (tsx enables them; a compiled consumer does not).
 */
export function applyDiagnosticVariant(variant: string | undefined): void {
    if (variant === "no-promise-stacks") {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const debuggable = require("@pulumi/pulumi/runtime/debuggable.js") as { debuggablePromise: (p: unknown) => unknown };
        debuggable.debuggablePromise = (p) => p;
    }
    if (variant === "no-source-maps" || variant === "no-promise-stacks") process.setSourceMapsEnabled(false);
}
