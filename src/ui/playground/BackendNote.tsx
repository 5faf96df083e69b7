// Which backend (the clora engine or onnxruntime-web) gave the playground's answer, why, and the timings it was chosen on.
import type { AnswerBackendReport } from '../../cl/playground-backend.ts';
import { backendNoteText } from './backend-note.ts';
import './playground.css';

/** Test id `playground-backend`, with `data-backend` (engine | onnxruntime), `data-engine-ms` and `data-ort-ms` (empty when not timed). */
export function BackendNote({ report }: { report: AnswerBackendReport }) {
  const text = backendNoteText(report);
  return (
    <div
      className="playground-backend"
      data-testid="playground-backend"
      data-backend={report.backend}
      data-engine-ms={report.engineMs ?? ''}
      data-ort-ms={report.ortMs ?? ''}
      data-measured-now={report.measuredNow ? 'true' : 'false'}
    >
      <div className="playground-backend-headline">{text.headline}</div>
      <div className="muted">Why: {text.reason}</div>
      {text.timings ? <div className="muted" data-testid="playground-backend-timings">{text.timings}</div> : null}
      {text.setup ? <div className="muted">{text.setup}</div> : null}
    </div>
  );
}
