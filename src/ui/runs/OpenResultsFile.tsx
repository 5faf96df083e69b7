// Opens a results.json from disk (written by `clora run`, or exported from this app) to show its results here, storing nothing.
import { useState } from 'react';
import type { RunResults } from '../../cl/runner.ts';
import { parseRunResultsText } from '../../report/results-file.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import './runs.css';

export interface OpenResultsFileProps {
  /** The file that is shown, if any (its name is repeated in the card). */
  openName: string | null;
  onOpen(file: { name: string; results: RunResults }): void;
}

/** Test id `open-results`; the input is `open-results-input`. */
export function OpenResultsFile({ openName, onOpen }: OpenResultsFileProps) {
  const [failure, setFailure] = useState<{ name: string; error: unknown } | null>(null);
  const open = async (file: File | undefined) => {
    if (!file) return;
    setFailure(null);
    try {
      onOpen({ name: file.name, results: parseRunResultsText(await file.text(), file.name) });
    } catch (error) {
      setFailure({ name: file.name, error });
    }
  };
  return (
    <section className="card open-results" data-testid="open-results">
      <header className="card-header">
        <h2>Results from a file</h2>
        {openName ? <span className="muted runs-total">showing {openName}</span> : null}
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
            void open(e.target.files?.[0]);
            e.target.value = '';
          }} />
      </label>
      {failure ? <ErrorCallout title={`Could not open ${failure.name}`} error={failure.error} /> : null}
    </section>
  );
}
