// The comparison's metrics table: per method, AP, F.Ra, BWT and FWT as mean ± SD with n over the compared runs.
import { paletteColor } from '../../report/color-scale.ts';
import { bestMeans, type LabelledRun, type MethodSummary } from '../../report/comparison.ts';
import { formatScore, formatSigned, HIGHER_IS_BETTER, METRIC_KEYS, METRIC_TITLES, type MetricKey } from '../../report/tables.ts';
import { learnedNothingNote } from '../../report/verdicts.ts';
import '../results/results.css';
import './compare.css';

/** AP and F.Ra are levels, BWT and FWT differences (shown with a sign). */
const SIGNED: Readonly<Record<MetricKey, boolean>> = { ap: false, fra: false, bwt: true, fwt: true };

export interface CompareMetricsTableProps {
  runs: readonly LabelledRun[];
  summaries: readonly MethodSummary[];
  /** Method swatches are shown when the curves are coloured by method (they are then the lines' colours). */
  swatches?: boolean;
}

/**
 * Test id `compare-metrics`; each body row has `data-method`, each metric cell `data-metric`, `data-mean`, `data-sd`
 * and `data-n` ("null" where missing). A mean resting on a task some run learned nothing on is marked ∅ and never best.
 */
export function CompareMetricsTable({ runs, summaries, swatches = true }: CompareMetricsTableProps) {
  const best = bestMeans(summaries);
  const notes = runs.flatMap((r) => summaries.map((s) => (s.inRun[runs.indexOf(r)] ? learnedNothingNote(r.results, s.method) : null))
    .filter((n): n is string => n !== null).map((n) => `${r.label}: ${n}`));
  const fmt = (key: MetricKey, v: number | null) => (SIGNED[key] ? formatSigned(v) : formatScore(v));
  return (
    <div className="results-table-scroll">
      <table className="results-metrics compare-metrics" data-testid="compare-metrics">
        <caption className="results-sr-only">Each method's metrics over the compared runs: mean ± standard deviation, and n, the runs with a value.</caption>
        <thead>
          <tr>
            <th scope="col">Method</th>
            <th scope="col" title="How many of the compared runs have this method">Runs</th>
            {METRIC_KEYS.map((k) => (
              <th scope="col" key={k} title={`${HIGHER_IS_BETTER[k] ? 'higher' : 'lower'} is better; mean ± SD (n − 1) over the runs with a value`}>
                {METRIC_TITLES[k]} <span className="muted">{HIGHER_IS_BETTER[k] ? '↑' : '↓'}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {summaries.map((s, i) => {
            const runCount = s.inRun.filter(Boolean).length;
            return (
              <tr key={s.method} data-method={s.method}>
                <th scope="row">
                  {swatches ? <span className="results-swatch" style={{ background: paletteColor(i) }} aria-hidden="true" /> : null}
                  {s.method}
                  {s.algorithms.length > 0 && s.algorithms.join(' / ') !== s.method ? <span className="muted results-algorithm"> {s.algorithms.join(' / ')}</span> : null}
                  {s.joint ? <span className="tag results-tag">joint</span> : null}
                </th>
                <td data-testid="compare-method-runs">{runCount} of {runs.length}</td>
                {METRIC_KEYS.map((k) => {
                  const m = s.metrics[k];
                  const isBest = m.mean !== null && !m.vacuous && !s.joint && m.mean === best[k];
                  const perRun = m.values.map((v, r) => `${runs[r].label}: ${s.inRun[r] ? fmt(k, v) : 'not run'}`).join('\n');
                  return (
                    <td key={k} data-metric={k} data-mean={m.mean === null ? 'null' : String(m.mean)} data-sd={m.sd === null ? 'null' : String(m.sd)} data-n={m.n}
                      data-vacuous={m.vacuous ? 'true' : undefined} className={isBest ? 'results-best' : m.vacuous ? 'results-vacuous' : undefined}
                      title={`${perRun}${m.vacuous ? `\n${s.method} learned nothing on a task in some run: this value says nothing` : ''}`}>
                      {m.n === 0 ? '—' : (
                        <>
                          {fmt(k, m.mean)}
                          <span className="compare-sd">{m.sd === null ? '' : ` ± ${m.sd.toFixed(1)}`}</span>
                          {m.vacuous ? <span aria-hidden="true"> ∅</span> : null}
                          <span className="muted compare-n"> n={m.n}</span>
                        </>
                      )}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted results-note">
        Mean ± standard deviation (n − 1) over the runs that have a value; n counts them (no SD under two). Hover a value for each run&apos;s own.
      </p>
      {notes.length > 0 ? (
        <ul className="results-note results-vacuous-notes" data-testid="compare-learned-nothing">
          {notes.map((n) => <li key={n}>{n}</li>)}
          <li>Values marked ∅ rest on such tasks and are never highlighted as best.</li>
        </ul>
      ) : null}
    </div>
  );
}
