// The metrics table: one row per method with AP, F.Ra, BWT and FWT, the best continual value of each in bold when methods can be compared.
import { useMemo } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { methodColors } from '../../report/series.ts';
import { bestMetrics, formatScore, formatSigned, HIGHER_IS_BETTER, METRIC_KEYS, METRIC_TITLES, metricsRows, type MetricKey } from '../../report/tables.ts';
import './results.css';

/** AP and F.Ra are levels, BWT and FWT differences (shown with a sign). */
const SIGNED: Readonly<Record<MetricKey, boolean>> = { ap: false, fra: false, bwt: true, fwt: true };

/** Test id `metrics-table`; each body row has `data-method`. Missing values read "—". */
export function MetricsTable({ results }: { results: RunResults }) {
  const rows = useMemo(() => metricsRows(results), [results]);
  const best = useMemo(() => bestMetrics(rows), [rows]);
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
                const isBest = !r.joint && v !== null && v === best[k] && rows.filter((x) => !x.joint && x[k] !== null).length > 1;
                return (
                  <td key={k} data-metric={k} data-value={v === null ? 'null' : String(v)} className={isBest ? 'results-best' : undefined}>
                    {SIGNED[k] ? formatSigned(v) : formatScore(v)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {anyJoint ? (
        <p className="muted results-note">
          Joint methods train on all tasks at once, so they have no stage-by-stage matrix: their AP is the mean of their final scores, and
          F.Ra, BWT and FWT do not apply.
        </p>
      ) : null}
    </div>
  );
}
