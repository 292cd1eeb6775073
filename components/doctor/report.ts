import { CheckRow, Verdict } from "./diagnose";

/**
 * The report a person reads at a glance: failing rows first, then warnings, then what is fine, one line per row with
 * its fix indented below; a last line with the counts. Pure.
 */
export function renderReport(unsorted: readonly CheckRow[]): string {
    const order: Record<Verdict, number> = { fail: 0, warn: 1, ok: 2 };
    const rows = [...unsorted].sort((a, b) => order[a.verdict] - order[b.verdict]);
    const width = (pick: (r: CheckRow) => string) => Math.max(0, ...rows.map((r) => pick(r).length));
    const [nodeWidth, checkWidth] = [width((r) => r.node), width((r) => r.check)];
    const lines = rows.flatMap((r) => {
        const line = `${r.verdict.toUpperCase().padEnd(4)}  ${r.node.padEnd(nodeWidth)}  ${r.check.padEnd(checkWidth)}  ${r.seen}`;
        return r.fix ? [line, `${" ".repeat(6 + nodeWidth + 2 + checkWidth + 2)}fix: ${r.fix}`] : [line];
    });
    const count = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
    lines.push(`${count("fail")} failing, ${count("warn")} warnings, ${count("ok")} ok`);
    return `${lines.join("\n")}\n`;
}

/** doctor's exit status: 1 on any failing check (warnings alone are 0). */
export function exitStatus(rows: readonly CheckRow[]): number {
    return rows.some((r) => r.verdict === "fail") ? 1 : 0;
}
