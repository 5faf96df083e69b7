// Suggests which known name a mistyped one meant ("maxTrian" -> "maxTrain"), for errors about unknown fields and names.
import { distance } from 'fastest-levenshtein';

/**
 * The known name nearest to `word` by edit distance, ignoring case, '-', '_' and spaces, when it is near enough to
 * be a typo: one edit for names of up to 3 letters, else two or a third of the longer name's letters, whichever is
 * more (a swap of two letters is two edits). Null when nothing is that near.
 */
export function closestName(word: string, known: readonly string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const w = norm(word);
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(w, norm(k));
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  if (best === null) return null;
  const longer = Math.max(w.length, norm(best).length);
  const limit = longer <= 3 ? 1 : Math.max(2, Math.floor(longer / 3));
  return bestDistance <= limit ? best : null;
}

/** `; did you mean "x"?` for the nearest known name, or '' when none is near. */
export function didYouMean(word: string, known: readonly string[]): string {
  const near = closestName(word, known);
  return near === null || near === word ? '' : `; did you mean "${near}"?`;
}
