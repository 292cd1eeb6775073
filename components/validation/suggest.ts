/**
 * The allowed word closest to a mistyped one, for "did you mean": another case, or a few edits - one for a short word,
 * two up to nine letters, three beyond (so `size` does not suggest `name`, while `sshAllowedCidr` finds
 * `sshAllowedCidrs`).
 */
export function nearestWord(word: string, allowed: readonly string[]): string | undefined {
    const limit = word.length <= 4 ? 1 : word.length < 10 ? 2 : 3;
    let best: { word: string; distance: number } | undefined;
    for (const candidate of allowed) {
        const distance = candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, candidate);
        if (distance <= limit && (!best || distance < best.distance)) best = { word: candidate, distance };
    }
    return best?.word;
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let previous = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const kept = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
            previous = kept;
        }
    }
    return row[b.length];
}
