// A method's selector weights per task at its last evaluated stage, as stacked bars over the blocks.
import { useMemo } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { paletteColor } from '../../report/color-scale.ts';
import { lastRouting } from '../../report/tables.ts';
import './results.css';

export interface RoutingWeightsProps {
  results: RunResults;
  method: string;
}

/**
 * Test id `routing-<method>`. One row per task evaluated at the last stage: a bar split into the
 * blocks' mean weights, the weights as numbers, and the block with the most weight (ticked when it
 * is the task's own block).
 */
export function RoutingWeights({ results, method }: RoutingWeightsProps) {
  const stage = useMemo(() => lastRouting(results.methods[method]?.routing ?? null), [results, method]);
  const tasks = results.tasks;
  const blockName = (j: number) => (j < tasks.length ? `block ${j + 1} (${tasks[j].name})` : `block ${j + 1}`);
  return (
    <figure className="results-routing" data-testid={`routing-${method}`}>
      <figcaption className="results-chart-title">
        <span className="results-chart-name">{method}</span>
        {stage ? <span className="muted">after task {stage.stage + 1}</span> : null}
      </figcaption>
      {stage === null ? (
        <p className="muted">No selector weights measured yet.</p>
      ) : (
        <div className="results-table-scroll">
          <table className="results-routing-table">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Weight per block</th>
                <th scope="col">Top block</th>
              </tr>
            </thead>
            <tbody>
              {stage.rows.map(({ task, weights, top }) => {
                const sum = weights.reduce((a, b) => a + Math.max(0, b), 0);
                return (
                  <tr key={task} data-task={task}>
                    <th scope="row" title={tasks[task]?.name}>
                      {task + 1}. {tasks[task]?.name ?? ''}
                    </th>
                    <td>
                      <div className="results-stack" role="img" aria-label={weights.map((w, j) => `${blockName(j)} ${w.toFixed(2)}`).join(', ')}>
                        {weights.map((w, j) =>
                          w > 0 && sum > 0 ? (
                            <span key={j} style={{ width: `${(100 * w) / sum}%`, background: paletteColor(j) }} title={`${blockName(j)}: ${w.toFixed(3)}`} />
                          ) : null,
                        )}
                      </div>
                      <div className="results-stack-values">{weights.map((w) => w.toFixed(2)).join(' · ')}</div>
                    </td>
                    <td>
                      {top + 1}
                      {top === task ? <span className="results-own" title="the task's own block"> ✓</span> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </figure>
  );
}
