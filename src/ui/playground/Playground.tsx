// The playground: ask a finished run's method for an answer to a typed input, and see how its selector weighted the task modules.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { PlaygroundAnswer } from '../../cl/playground.ts';
import type { RunResults } from '../../cl/runner.ts';
import type { RunRecord } from '../../worker/run-job.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { newestFirst } from '../runs/run-format.ts';
import { AnswerHistory } from './AnswerHistory.tsx';
import { AnswerView } from './AnswerView.tsx';
import { canAsk, clampTask, pickOption, pushHistory, resultMethods, type AnswerEntry } from './playground-state.ts';
import { PlaygroundForm } from './PlaygroundForm.tsx';
import { useRunResults, type ResultsState } from './use-run-results.ts';
import './playground.css';

export interface PlaygroundProps {
  /** The finished runs to choose from (shown newest first). */
  runs: RunRecord[];
  /** A run's stored results, whose methods the method choice lists; null when it has none. */
  loadResults(id: string): Promise<RunResults | null>;
  /** Answers `input` with a run's method under task `task`'s instruction. */
  answer(runId: string, method: string, task: number, input: string): Promise<PlaygroundAnswer>;
}

/** Why the method list is empty, or null when it is not. */
function methodsNote(state: ResultsState, count: number): string | null {
  if (count > 0) return null;
  if (state.status === 'loading') return 'reading results…';
  if (state.status === 'error') return 'results unreadable';
  if (state.status === 'ready') return state.results ? 'no methods in the results' : 'no results stored';
  return 'choose a run';
}

/**
 * Test ids: `playground` (with `data-busy`), the form's `playground-run`, `playground-method`,
 * `playground-task`, `playground-input`, `playground-submit`, then `playground-answer`,
 * `playground-time`, `playground-backend` (which backend answered), `playground-weights` (with `data-weights`) and
 * `playground-history`.
 */
export function Playground({ runs, loadResults, answer }: PlaygroundProps) {
  const sorted = useMemo(() => newestFirst(runs), [runs]);
  const [pickedRun, setPickedRun] = useState<string | null>(null);
  const runId = pickOption(pickedRun, sorted.map((r) => r.id));
  const run = sorted.find((r) => r.id === runId) ?? null;

  const results = useRunResults(runId, run?.updated ?? 0, loadResults);
  const methods = useMemo(() => (results.status === 'ready' ? resultMethods(results.results) : []), [results]);
  const [pickedMethod, setPickedMethod] = useState<string | null>(null);
  const method = pickOption(pickedMethod, methods);

  const taskNames = useMemo(() => {
    if (run && run.tasks.length > 0) return run.tasks;
    return results.status === 'ready' && results.results ? results.results.tasks.map((t) => t.name) : [];
  }, [run, results]);
  const [pickedTask, setPickedTask] = useState(0);
  const task = clampTask(pickedTask, taskNames.length);

  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ error: unknown } | null>(null);
  const [history, setHistory] = useState<AnswerEntry[]>([]);
  const [shownSeq, setShownSeq] = useState<number | null>(null);
  const seq = useRef(0);
  const live = useRef(true);
  const answerRef = useRef(answer);
  answerRef.current = answer;

  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);

  const ready = canAsk({ runId, method, input, busy }) && taskNames.length > 0;

  const submit = async () => {
    if (!ready || runId === null || method === null) return;
    const asked = { runId, runTitle: run?.title || runId, method, task, taskNames, input };
    setBusy(true);
    setFailure(null);
    const started = performance.now();
    try {
      const reply = await answerRef.current(runId, method, task, input);
      const entry: AnswerEntry = { ...asked, seq: ++seq.current, answer: reply, ms: performance.now() - started };
      if (!live.current) return;
      setHistory((h) => pushHistory(h, entry));
      setShownSeq(entry.seq);
    } catch (e) {
      if (live.current) setFailure({ error: e });
    } finally {
      if (live.current) setBusy(false);
    }
  };

  const shown = history.find((e) => e.seq === shownSeq) ?? history[0] ?? null;

  return (
    <section className="card playground" data-testid="playground" data-busy={busy ? 'true' : 'false'}>
      <header className="card-header">
        <h2>Playground</h2>
      </header>
      {sorted.length === 0 ? (
        <p className="muted playground-empty">No finished runs yet. Once a run has finished, ask its methods questions here.</p>
      ) : (
        <>
          <p className="muted playground-intro">
            Ask a trained method: the input is framed by the chosen task’s instruction, and the answer is greedy. For a method
            that answers with one adapter, and for SAPT, the first question times a whole answer on the clora engine and on
            onnxruntime-web (the model exported with the adapter merged, or with SAPT’s task LoRAs and selector) and the
            faster one answers from then on.
          </p>
          <PlaygroundForm
            runs={sorted}
            runId={runId}
            onRun={(id) => {
              setPickedRun(id);
              setPickedTask(0);
            }}
            methods={methods}
            method={method}
            onMethod={setPickedMethod}
            methodsNote={methodsNote(results, methods.length)}
            taskNames={taskNames}
            task={task}
            onTask={setPickedTask}
            input={input}
            onInput={setInput}
            busy={busy}
            canSubmit={ready}
            onSubmit={() => void submit()}
          />
          {results.status === 'error' ? <ErrorCallout title="Could not read this run’s results" error={results.error} /> : null}
          {failure ? <ErrorCallout title="The playground could not answer" error={failure.error} /> : null}
          {shown ? <AnswerView entry={shown} busy={busy} /> : null}
          <AnswerHistory entries={history} shownSeq={shown?.seq ?? null} onShow={setShownSeq} />
        </>
      )}
    </section>
  );
}

export default Playground;
