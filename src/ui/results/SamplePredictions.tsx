// Example predictions per task (input, gold answer, every method's prediction), each task folded away by default.
import { useMemo } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { methodNames } from '../../report/series.ts';
import { sampleRows } from '../../report/tables.ts';
import './results.css';

/** One collapsed `<details>` per task (test id `samples-<t>`) holding a table of its examples. */
export function SamplePredictions({ results }: { results: RunResults }) {
  const names = useMemo(() => methodNames(results), [results]);
  const perTask = useMemo(() => results.tasks.map((_, t) => sampleRows(results, t)), [results]);
  if (results.tasks.length === 0) return null;
  return (
    <div className="results-samples">
      {results.tasks.map((task, t) => (
        <details key={t} className="results-samples-task" data-testid={`samples-${t}`}>
          <summary>
            <span className="results-task-index">{t + 1}</span> {task.name}{' '}
            <span className="muted">
              ({perTask[t].length} example{perTask[t].length === 1 ? '' : 's'})
            </span>
          </summary>
          {perTask[t].length === 0 ? (
            <p className="muted">No predictions yet.</p>
          ) : (
            <div className="results-table-scroll">
              <table className="results-samples-table">
                <thead>
                  <tr>
                    <th scope="col">Input</th>
                    <th scope="col">Gold</th>
                    {names.map((n) => (
                      <th scope="col" key={n}>
                        {n}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {perTask[t].map((row, i) => (
                    <tr key={i}>
                      <td>
                        <div className="results-sample-text">{row.input}</div>
                      </td>
                      <td>
                        <div className="results-sample-text">{row.gold}</div>
                      </td>
                      {row.predictions.map((p, mi) => (
                        <td key={mi}>
                          <div className="results-sample-text">{p ?? <span className="muted">—</span>}</div>
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </details>
      ))}
    </div>
  );
}
