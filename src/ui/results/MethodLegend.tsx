// A shared legend for a grid of charts: each method's colour and line style (dashed for joint reference lines).
import type { LegendEntry } from '../../report/series.ts';
import './results.css';

/** A row of coloured line swatches with labels. */
export function MethodLegend({ entries }: { entries: readonly LegendEntry[] }) {
  if (entries.length === 0) return null;
  return (
    <ul className="results-legend" aria-label="Methods">
      {entries.map((e) => (
        <li key={e.label} className="results-legend-item">
          <svg width="26" height="10" aria-hidden="true">
            <line x1="1" y1="5" x2="25" y2="5" stroke={e.color} strokeWidth="3" strokeDasharray={e.dashed ? '6 4' : undefined} />
          </svg>
          {e.label}
        </li>
      ))}
    </ul>
  );
}
