// How compared runs are named: a results file after its file name, and repeated names told apart.

/** The name a results file's run goes by: its file name without ".json" (and without "-results" of this app's exports). */
export function fileRunLabel(name: string): string {
  return name.replace(/\.json$/i, '').replace(/-results$/i, '') || name;
}

/** The labels made unique: a repeated one gets " (2)", " (3)", ... */
export function uniqueLabels(labels: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((l) => {
    const n = (seen.get(l) ?? 0) + 1;
    seen.set(l, n);
    return n === 1 ? l : `${l} (${n})`;
  });
}
