// The playground's answer: the generated text, how long it took, the stage it came from, the backend that gave it,
// and the selector's weights when there are any.
import { formatMs } from '../../report/format.ts';
import type { AnswerEntry } from './playground-state.ts';
import { BackendNote } from './BackendNote.tsx';
import { WeightsChart } from './WeightsChart.tsx';
import './playground.css';

/** Test id `playground-answer` (the text, with `data-ms`); `playground-backend`; `playground-weights` when the method has a selector. */
export function AnswerView({ entry, busy }: { entry: AnswerEntry; busy: boolean }) {
  const { answer } = entry;
  const taskName = entry.taskNames[entry.task] ?? `task ${entry.task + 1}`;
  const stageName = entry.taskNames[answer.stage];
  return (
    <section className={`playground-result${busy ? ' playground-result-stale' : ''}`} aria-live="polite">
      <div className="playground-meta muted">
        <span>{entry.method}</span>
        <span>
          as {entry.task + 1}. {taskName}
        </span>
        <span>
          trained through task {answer.stage + 1}
          {stageName ? ` (${stageName})` : ''}
        </span>
        <span data-testid="playground-time">{formatMs(entry.ms)}</span>
      </div>
      <blockquote className="playground-question" title="Input">
        {entry.input}
      </blockquote>
      <p className="playground-answer" data-testid="playground-answer" data-ms={Math.round(entry.ms)}>
        {answer.text === '' ? <span className="muted">(empty answer)</span> : answer.text}
      </p>
      {answer.backend ? <BackendNote report={answer.backend} /> : null}
      {answer.weights ? (
        <WeightsChart weights={answer.weights} taskNames={entry.taskNames} />
      ) : (
        <p className="muted playground-note">This method does not weight task modules, so there is no selector chart.</p>
      )}
    </section>
  );
}
