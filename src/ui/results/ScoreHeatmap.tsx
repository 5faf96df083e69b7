// One method's score matrix as a coloured table (rows: after training task k, columns: task t), with SVG, adapter and ONNX exports.
import { useMemo, useState } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { contrastText, scoreColor } from '../../report/color-scale.ts';
import { downloadText } from './download.ts';
import { methodHeatmapSvg } from '../../report/heatmap-svg.ts';
import { completedStages, fileSlug, formatScore, stageRows } from '../../report/tables.ts';
import { learnedNothing, taskBaseline } from '../../report/verdicts.ts';
import './results.css';

export interface ScoreHeatmapProps {
  results: RunResults;
  method: string;
  /** When given, every finished stage gets a button that asks for that stage's adapter. */
  onExportAdapter?: (methodName: string, taskIndex: number) => void;
  /** When given, an "ONNX" button downloads the method as it finished, exported to ONNX; resolves when saved. */
  onExportOnnx?: (methodName: string) => Promise<void>;
  onError: (title: string, error: unknown) => void;
  /** Put before the SVG's file name (a comparison names its files after the run): `<filePrefix>-heatmap-<method>.svg`. */
  filePrefix?: string;
}

/**
 * The table has test id `heatmap-<method>`; every score cell carries `data-score` (the number, or
 * `null` for a cell not evaluated, which is left blank). The diagonal (a task right after training
 * it) is framed. A joint method shows one row of its final scores.
 */
export function ScoreHeatmap({ results, method, onExportAdapter, onExportOnnx, onError, filePrefix }: ScoreHeatmapProps) {
  const svgName = `${filePrefix ? `${filePrefix}-` : ''}heatmap-${fileSlug(method)}.svg`;
  const [exportingOnnx, setExportingOnnx] = useState(false);
  const rows = useMemo(() => stageRows(results, method), [results, method]);
  const done = useMemo(() => new Set(completedStages(results.methods[method])), [results, method]);
  const joint = results.methods[method].matrix === null;
  const tasks = results.tasks;
  const nothing = useMemo(() => learnedNothing(results, method), [results, method]);
  // SAPT answers with all its blocks and its router: one export, of the folder as of its last finished task.
  const routed = results.methods[method].method === 'sapt';
  const lastDone = Math.max(-1, ...done);
  const baselines = useMemo(() => tasks.map((_, t) => taskBaseline(results, t)), [results, tasks]);
  const baselineRows = (['majority', 'chance'] as const).filter((key) => baselines.some((b) => b?.[key] != null));

  const saveSvg = () => {
    try {
      const svg = methodHeatmapSvg(results, method);
      downloadText(svg, svgName, 'image/svg+xml');
    } catch (error) {
      onError(`Could not save the ${method} heatmap as SVG`, error);
    }
  };

  const exportAdapter = (stage: number) => {
    try {
      const ret: unknown = onExportAdapter?.(method, stage);
      if (ret instanceof Promise) ret.catch((error: unknown) => onError(`Could not export the ${method} adapter`, error));
    } catch (error) {
      onError(`Could not export the ${method} adapter`, error);
    }
  };

  const exportOnnx = () => {
    if (!onExportOnnx || exportingOnnx) return;
    setExportingOnnx(true);
    onExportOnnx(method)
      .catch((error: unknown) => onError(`Could not export ${method} to ONNX`, error))
      .finally(() => setExportingOnnx(false));
  };

  return (
    <figure className="results-heatmap">
      <figcaption className="results-chart-title">
        <span className="results-chart-name">
          {method}
          {joint ? <span className="tag results-tag">joint</span> : null}
        </span>
        <button type="button" className="results-mini-button" onClick={saveSvg} data-testid={`export-svg-${method}`} title={`Save as ${svgName}`}>
          SVG
        </button>
        {onExportOnnx ? (
          <button type="button" className="results-mini-button" onClick={exportOnnx} disabled={exportingOnnx} data-testid={`export-onnx-${method}`}
            aria-busy={exportingOnnx}
            title={`Save ${method} as of its last finished task as ${fileSlug(method)}.onnx: the model with its adapter merged (SAPT: with its task LoRAs and the selector that routes each prompt), for onnxruntime`}>
            {exportingOnnx ? 'ONNX…' : 'ONNX'}
          </button>
        ) : null}
      </figcaption>
      <div className="results-table-scroll">
        <table className="results-heatmap-table" data-testid={`heatmap-${method}`}>
          <caption className="results-sr-only">
            Scores of {method}: each row is a training stage, each column a task, in percent.
          </caption>
          <thead>
            <tr>
              <th scope="col" className="results-heatmap-corner">
                {joint ? 'stage' : 'after task'} ╲ task
              </th>
              {tasks.map((t, i) => (
                <th scope="col" key={i} title={t.name}>
                  {i + 1}
                </th>
              ))}
              {onExportAdapter ? (
                <th scope="col">
                  <span className="results-sr-only">Adapter</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.stage} data-stage={row.stage}>
                <th scope="row" className="results-heatmap-rowhead" title={row.label}>
                  {row.label}
                </th>
                {row.cells.map((v, t) => {
                  const bg = v === null ? undefined : scoreColor(v);
                  const diagonal = !joint && t === row.stage;
                  // The score right after training task t (a joint method: its only row) at or below what the task gives for free.
                  const vacuous = (diagonal || joint) && nothing[t];
                  return (
                    <td
                      key={t}
                      data-score={v === null ? 'null' : String(v)}
                      data-learned-nothing={vacuous ? 'true' : undefined}
                      className={`results-cell${v === null ? ' results-cell-empty' : ''}${diagonal ? ' results-cell-diagonal' : ''}${vacuous ? ' results-cell-vacuous' : ''}`}
                      style={bg ? { background: bg, color: contrastText(bg) } : undefined}
                      title={v === null ? `${tasks[t].name}: not evaluated`
                        : `${tasks[t].name}: ${v.toFixed(2)}${vacuous ? ' — learned nothing (at or below the majority-label score)' : ''}`}
                    >
                      {v === null ? '' : formatScore(v)}
                      {vacuous ? <span aria-hidden="true">∅</span> : null}
                    </td>
                  );
                })}
                {onExportAdapter ? (
                  <td className="results-heatmap-action">
                    {done.has(row.stage) && (!routed || row.stage === lastDone) ? (
                      <button
                        type="button"
                        className="results-mini-button"
                        onClick={() => exportAdapter(row.stage)}
                        data-testid={`export-adapter-${method}-${row.stage}`}
                        aria-label={routed ? `Export the ${method} folder (every task's LoRA and the selector)` : joint ? `Export the ${method} adapter` : `Export the ${method} adapter after task ${row.stage + 1}`}
                        title={routed ? 'The folder clora export --sapt reads: router_config.json, router.safetensors and adapters/<task>/ of every block' : undefined}
                      >
                        {routed ? 'Export SAPT folder' : 'Export adapter'}
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
            {baselineRows.map((key) => (
              <tr key={key} className="results-baseline-row" data-testid={`baseline-${key}-${method}`}>
                <th scope="row" className="results-heatmap-rowhead"
                  title={key === 'majority' ? 'Always answering the test split’s most common label' : 'Guessing uniformly among the labels'}>
                  {key === 'majority' ? 'majority label' : 'chance'}
                </th>
                {baselines.map((b, t) => {
                  const v = b?.[key] ?? null;
                  return (
                    <td key={t} data-baseline-score={v === null ? 'null' : String(v)}
                      title={v === null ? `${tasks[t].name}: free-text answers` : key === 'majority' ? `${tasks[t].name}: always “${b?.majorityLabel}”: ${v.toFixed(2)}` : `${tasks[t].name}: ${v.toFixed(2)}`}>
                      {v === null ? '—' : formatScore(v)}
                    </td>
                  );
                })}
                {onExportAdapter ? <td /> : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
