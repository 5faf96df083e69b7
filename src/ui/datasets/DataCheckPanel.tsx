// The data check under the tasks: per task, its examples' token lengths against the max length (how many a run would
// cut, and whether the instruction survives), its test split's size and label balance with the majority-label score,
// and a max length suggested from the data within the memory budget.
import { useEffect, useState } from 'react';
import type { DataCheckOptions, DataCheckReport, TaskInput } from '../engine-client.ts';
import type { LengthCheck } from '../../data/data-check.ts';
import './datasets.css';

export interface DataCheckPanelProps {
  /** The tasks that were read without error, in order. */
  tasks: readonly TaskInput[];
  /** The model the lengths are measured with; null until one is loaded (then only the test splits are checked). */
  modelKey: string | null;
  options: DataCheckOptions;
  check(inputs: TaskInput[], options: DataCheckOptions): Promise<DataCheckReport>;
  /** Applies a max length (the suggestion's "Use" button). */
  onMaxLength(maxLength: number): void;
  disabled?: boolean;
}

const pct = (n: number, of: number) => (of > 0 ? `${Math.round((100 * n) / of)}%` : '—');

/** A small bar chart of the lengths with the max length as a red line (data-testid="length-histogram"). */
function LengthBars({ c }: { c: LengthCheck }) {
  const W = 120;
  const H = 28;
  const top = Math.max(1, ...c.bins);
  const bw = W / c.bins.length;
  const x = Math.min(W, (c.maxLength / (c.bins.length * c.binWidth)) * W);
  return (
    <svg width={W} height={H} role="img" aria-label={`token lengths up to ${c.max}; max length ${c.maxLength}`} data-testid="length-histogram">
      {c.bins.map((n, i) => (
        <rect key={i} x={i * bw + 0.5} y={H - (n / top) * (H - 2)} width={Math.max(1, bw - 1)} height={(n / top) * (H - 2)}
          fill={(i + 1) * c.binWidth > c.maxLength ? 'var(--err)' : 'var(--accent, #2563eb)'} opacity={0.75} />
      ))}
      <line x1={x} x2={x} y1={0} y2={H} stroke="var(--text, #111827)" strokeWidth={1.5} strokeDasharray="2 2" />
    </svg>
  );
}

/** The check's table (data-testid="data-check"); rows carry data-task-id, data-truncated and data-majority. */
export function DataCheckPanel({ tasks, modelKey, options, check, onMaxLength, disabled = false }: DataCheckPanelProps) {
  const [report, setReport] = useState<DataCheckReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = JSON.stringify([tasks.map((t) => [t.id, t.name, t.instruction, t.columns]), modelKey, options]);

  useEffect(() => {
    if (tasks.length === 0) {
      setReport(null);
      return;
    }
    let live = true;
    setBusy(true);
    // A short pause, so that typing a setting does not re-read every task on each keystroke.
    const timer = setTimeout(() => {
      check([...tasks], options).then(
        (r) => { if (live) { setReport(r); setError(null); } },
        (e: unknown) => { if (live) setError(e instanceof Error ? e.message : String(e)); },
      ).finally(() => { if (live) setBusy(false); });
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // `key` stands for tasks, model and options.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  if (tasks.length === 0) return null;
  const byId = new Map((report?.tasks ?? []).map((t) => [t.id, t]));
  const suggestion = report?.suggestion ?? null;
  return (
    <section className="card data-check" data-testid="data-check" aria-labelledby="data-check-title" aria-busy={busy}>
      <header className="card-header">
        <h2 id="data-check-title">Data check</h2>
        {busy ? <span className="tag">checking…</span> : null}
      </header>
      <p className="muted">
        Tokens per example (prompt with the model’s template, plus the answer) against the max length of {options.maxLength}: a longer example loses
        the end of its input, never its instruction or its answer. The majority-label score is what always answering the test split’s most common
        label scores; a method at or below it learned nothing.
        {modelKey === null ? ' Load a model to measure the lengths.' : ''}
      </p>
      {error !== null ? <p className="data-check-error" role="alert">{error}</p> : null}
      <div className="results-table-scroll">
        <table className="data-check-table">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Tokens (median / 90% / max)</th>
              <th scope="col">Lengths</th>
              <th scope="col">Cut at {options.maxLength}</th>
              <th scope="col">Test examples</th>
              <th scope="col">Test labels</th>
              <th scope="col">Majority label / chance</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => {
              const r = byId.get(t.id);
              if (!r) return <tr key={t.id} data-task-id={t.id}><th scope="row">{t.name}</th><td colSpan={6} className="muted">…</td></tr>;
              if (!r.ok) return <tr key={t.id} data-task-id={t.id}><th scope="row">{t.name}</th><td colSpan={6} className="data-check-error">{r.error}</td></tr>;
              const c = r.lengths;
              const b = r.test.baselines;
              return (
                <tr key={t.id} data-task-id={t.id} data-truncated={c ? String(c.truncated / Math.max(1, c.measured)) : undefined}
                  data-majority={b.majority === null ? 'null' : String(b.majority)}>
                  <th scope="row">{t.name}</th>
                  <td>{c ? `${c.median} / ${c.p90} / ${c.max}` : '—'}{c && c.measured < c.total ? <span className="muted"> (first {c.measured})</span> : null}</td>
                  <td>{c ? <LengthBars c={c} /> : null}</td>
                  <td className={c && c.truncated > 0 ? 'data-check-warn' : undefined}>
                    {c ? `${pct(c.truncated, c.measured)}${c.instructionCut > 0 ? `, ${pct(c.instructionCut, c.measured)} lose part of the instruction` : ''}` : '—'}
                  </td>
                  <td>{r.test.size}{r.testSampled ? <span className="muted" title="No test cap is set: the check read a seeded sample of the test split, which holds at least this many"> or more (a sample)</span> : null}{r.test.size < 50 ? <span className="muted" title="Each example moves a score by more than 2 points"> (small)</span> : null}</td>
                  <td>{r.test.labels ? r.test.labels.slice(0, 4).map((l) => `${l.label} ${pct(l.count, r.test.size)}`).join(', ') + (r.test.labels.length > 4 ? ', …' : '') : 'free text'}</td>
                  <td>{b.majority === null ? '—' : `${b.majority.toFixed(1)} (“${b.majorityLabel}”)`}{b.chance !== null ? ` / ${b.chance.toFixed(1)}` : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {suggestion ? (
        <p className="data-check-suggestion" data-testid="max-length-suggestion">
          Suggested max length: <strong>{suggestion.maxLength}</strong> tokens ({pct(Math.round(suggestion.covers * 1000), 1000)} of the examples fit whole, within
          the GPU memory budget).{' '}
          {suggestion.maxLength !== options.maxLength ? (
            <button type="button" className="button" data-testid="use-max-length" disabled={disabled} onClick={() => onMaxLength(suggestion.maxLength)}>
              Use {suggestion.maxLength}
            </button>
          ) : <span className="muted">This is the current max length.</span>}
        </p>
      ) : null}
    </section>
  );
}
