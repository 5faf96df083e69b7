// The metrics table: one row per method with AP, F.Ra, BWT and FWT, the best continual value of each in bold when methods can be compared.
import { useMemo } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { methodColors } from '../../report/series.ts';
import {
  bestMetrics, formatScore, formatSigned, HIGHER_IS_BETTER, METRIC_KEYS, METRIC_TITLES, metricsRows, vacuousMetric, type MetricKey,
} from '../../report/tables.ts';
import { learnedNothingNote } from '../../report/verdicts.ts';
import './results.css';

/** AP and F.Ra are levels, BWT and FWT differences (shown with a sign). */
const SIGNED: Readonly<Record<MetricKey, boolean>> = { ap: false, fra: false, bwt: true, fwt: true };

/** Test id `metrics-table`; each body row has `data-method`. Missing values read "—". */
export function MetricsTable({ results }: { results: RunResults }) {
  const rows = useMemo(() => metricsRows(results), [results]);
  const T = results.tasks.length;
  const best = useMemo(() => bestMetrics(rows, T), [rows, T]);
  const notes = useMemo(() => rows.map((r) => learnedNothingNote(results, r.method)).filter((n): n is string => n !== null), [rows, results]);
  const colors = useMemo(() => methodColors(results), [results]);
  const anyJoint = rows.some((r) => r.joint);
  return (
    <div className="results-table-scroll">
      <table className="results-metrics" data-testid="metrics-table">
        <thead>
          <tr>
            <th scope="col">Method</th>
            {METRIC_KEYS.map((k) => (
              <th scope="col" key={k} title={HIGHER_IS_BETTER[k] ? 'higher is better' : 'lower is better'}>
                {METRIC_TITLES[k]} <span className="muted">{HIGHER_IS_BETTER[k] ? '↑' : '↓'}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.method} data-method={r.method}>
              <th scope="row">
                <span className="results-swatch" style={{ background: colors[r.method] }} aria-hidden="true" />
                {r.method}
                {r.algorithm && r.algorithm !== r.method ? <span className="muted results-algorithm"> {r.algorithm}</span> : null}
                {r.joint ? <span className="tag results-tag">joint</span> : null}
              </th>
              {METRIC_KEYS.map((k) => {
                const v = r[k];
                const vacuous = v !== null && vacuousMetric(r, k, T);
                const isBest = !r.joint && !vacuous && v !== null && v === best[k] && rows.filter((x) => !x.joint && x[k] !== null).length > 1;
                return (
                  <td key={k} data-metric={k} data-value={v === null ? 'null' : String(v)} data-vacuous={vacuous ? 'true' : undefined}
                    className={isBest ? 'results-best' : vacuous ? 'results-vacuous' : undefined}
                    title={vacuous ? `${r.method} learned nothing on ${k === 'fra' || k === 'bwt' ? 'an earlier task' : 'any task'}: this value says nothing` : undefined}>
                    {SIGNED[k] ? formatSigned(v) : formatScore(v)}
                    {vacuous ? <span aria-hidden="true"> ∅</span> : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {notes.length > 0 ? (
        <ul className="results-note results-vacuous-notes" data-testid="learned-nothing">
          {notes.map((n) => <li key={n}>{n} Values marked ∅ rest on such tasks and are never highlighted as best.</li>)}
        </ul>
      ) : null}
      {anyJoint ? (
        <p className="muted results-note">
          Joint methods train on all tasks at once, so they have no stage-by-stage matrix: their AP is the mean of their final scores, and
          F.Ra, BWT and FWT do not apply.
        </p>
      ) : null}
    </div>
  );
}
