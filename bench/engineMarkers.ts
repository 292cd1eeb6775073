/** Where bench/RESULTS.md holds the real-engine section: written by engineBench.ts, kept by bench.ts. */
export const ENGINE_START = "<!-- engine-bench:start (npm run bench:engine) -->";
export const ENGINE_END = "<!-- engine-bench:end -->";
