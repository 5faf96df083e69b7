// The card that opens a results.json from disk (written by `clora run`, or exported from this app) to show it here, storing nothing.
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import './runs.css';

export interface OpenResultsFileProps {
  /** The file that is shown, if any (its name is repeated in the card). */
  openName: string | null;
  /** Why the last file picked could not be opened, if it could not. */
  failure: { name: string; error: unknown } | null;
  onFile(file: File): void;
}

/** Test id `open-results`; the input is `open-results-input`. */
export function OpenResultsFile({ openName, failure, onFile }: OpenResultsFileProps) {
  return (
    <section className="card open-results" data-testid="open-results">
      <header className="card-header">
        <h2>Results from a file</h2>
        <span className="muted runs-total" role="status">
          {openName ? `showing ${openName}` : ''}
        </span>
      </header>
      <p className="muted open-results-help">
        View the <code>results.json</code> of a run made with <code>clora run</code> in Node, or one exported from this page: metrics,
        forgetting curves, score matrices, losses, selector weights and sample answers. The file is read here and not stored; its
        adapters stay in the run&apos;s folder, so adapter and ONNX export are not offered.
      </p>
      <label className="field open-results-field">
        <span>results.json</span>
        <input type="file" accept=".json,application/json" data-testid="open-results-input"
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) onFile(file);
          }} />
      </label>
      {failure ? <ErrorCallout title={`Could not open ${failure.name}`} error={failure.error} /> : null}
    </section>
  );
}
