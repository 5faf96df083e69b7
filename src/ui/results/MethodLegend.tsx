// A shared legend for a grid of charts: each method's colour and line style (dashed for joint reference lines).
import type { LegendEntry } from '../../report/series.ts';
import './results.css';

export interface MethodLegendProps {
  entries: readonly LegendEntry[];
  /** The list's accessible name; "Methods" by default. */
  label?: string;
  /** Labels of the entries hidden from the charts; with `onToggle`, each entry is a button that hides or shows its method. */
  hidden?: ReadonlySet<string>;
  onToggle?: (label: string) => void;
}

/** A row of coloured line swatches with labels; clickable (aria-pressed = shown) when the charts let methods be hidden. */
export function MethodLegend({ entries, label = 'Methods', hidden, onToggle }: MethodLegendProps) {
  if (entries.length === 0) return null;
  const swatch = (e: LegendEntry) => (
    <svg width="26" height="10" aria-hidden="true">
      <line x1="1" y1="5" x2="25" y2="5" stroke={e.color} strokeWidth="3" strokeDasharray={e.dash ? e.dash.join(' ') || undefined : e.dashed ? '6 4' : undefined} />
    </svg>
  );
  return (
    <ul className="results-legend" aria-label={label}>
      {entries.map((e) => (
        <li key={e.label} className="results-legend-item">
          {onToggle ? (
            <button type="button" className={`results-legend-toggle${hidden?.has(e.label) ? ' results-legend-hidden' : ''}`} aria-pressed={!hidden?.has(e.label)}
              data-testid={`legend-${e.label}`} title={hidden?.has(e.label) ? `Show ${e.label}` : `Hide ${e.label}`} onClick={() => onToggle(e.label)}>
              {swatch(e)}
              {e.label}
            </button>
          ) : (
            <>
              {swatch(e)}
              {e.label}
            </>
          )}
        </li>
      ))}
    </ul>
  );
}
