// The playground's form: the run, its method, the task whose instruction frames the input, the input, and Answer.
import type { KeyboardEvent } from 'react';
import type { RunRecord } from '../../worker/run-job.ts';
import { formatDateTime, truncateText } from '../runs/run-format.ts';
import './playground.css';

export interface PlaygroundFormProps {
  runs: RunRecord[];
  runId: string | null;
  onRun(id: string): void;
  methods: string[];
  method: string | null;
  onMethod(name: string): void;
  /** Why there are no methods to choose (loading, no results); null when there are. */
  methodsNote: string | null;
  taskNames: string[];
  task: number;
  onTask(task: number): void;
  input: string;
  onInput(text: string): void;
  busy: boolean;
  canSubmit: boolean;
  onSubmit(): void;
}

/**
 * Test ids `playground-run`, `playground-method`, `playground-task`, `playground-input` and
 * `playground-submit`. Enter in the input submits; Shift+Enter starts a new line.
 */
export function PlaygroundForm(props: PlaygroundFormProps) {
  const { runs, runId, onRun, methods, method, onMethod, methodsNote, taskNames, task, onTask, input, onInput, busy, canSubmit, onSubmit } = props;

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key !== 'Enter' || e.shiftKey || e.nativeEvent.isComposing) return;
    e.preventDefault();
    if (canSubmit) onSubmit();
  };

  return (
    <form
      className="playground-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (canSubmit) onSubmit();
      }}
    >
      <div className="playground-choices">
        <label className="field">
          Run
          <select value={runId ?? ''} onChange={(e) => onRun(e.target.value)} data-testid="playground-run">
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                {truncateText(r.title || r.id, 40)} · {formatDateTime(r.created)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Method
          <select value={method ?? ''} onChange={(e) => onMethod(e.target.value)} disabled={methods.length === 0} data-testid="playground-method">
            {methods.length === 0 ? <option value="">{methodsNote ?? 'no methods'}</option> : null}
            {methods.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Task (its instruction frames the input)
          <select value={String(task)} onChange={(e) => onTask(Number(e.target.value))} disabled={taskNames.length === 0} data-testid="playground-task">
            {taskNames.map((name, i) => (
              <option key={i} value={String(i)}>
                {i + 1}. {truncateText(name, 40)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label className="field playground-input-field">
        Input
        <textarea
          value={input}
          onChange={(e) => onInput(e.target.value)}
          onKeyDown={onKeyDown}
          rows={3}
          placeholder="Type an input as the task's data would have it, then press Enter"
          data-testid="playground-input"
        />
      </label>
      <div className="playground-actions">
        <span className="muted playground-hint">Enter answers · Shift+Enter for a new line</span>
        <button type="submit" className="button button-primary" disabled={!canSubmit} data-testid="playground-submit" aria-busy={busy}>
          {busy ? (
            <>
              <span className="spinner" aria-hidden="true" /> Answering…
            </>
          ) : (
            'Answer'
          )}
        </button>
      </div>
    </form>
  );
}
