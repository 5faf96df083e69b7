// Buttons that download the whole run: results JSON, the scores CSV and the metrics CSV.
import type { RunResults } from '../../cl/runner.ts';
import { fileSlug } from '../../report/tables.ts';
import { metricsCsv, scoresCsv } from './csv.ts';
import { saveText } from './download.ts';
import './results.css';

export interface ExportBarProps {
  results: RunResults;
  /** The run's title: the files are named after it (`<title>-results.json`, ...); "clora" when there is none. */
  title?: string | null;
  onError: (title: string, error: unknown) => void;
}

/** The start of a run's export file names: its title made file-safe, or "clora" without one. */
export function exportBase(title: string | null | undefined): string {
  return title && title.trim() !== '' ? fileSlug(title) : 'clora';
}

/** Test ids `export-json`, `export-csv` and `export-metrics-csv`. */
export function ExportBar({ results, title, onError }: ExportBarProps) {
  const base = exportBase(title);
  const save = (fileName: string, mime: string, make: () => string) => saveText(fileName, mime, make, onError);
  return (
    <div className="results-exports" role="group" aria-label="Export results">
      <button type="button" className="button" data-testid="export-json" onClick={() => save(`${base}-results.json`, 'application/json', () => JSON.stringify(results, null, 2))}>
        Results JSON
      </button>
      <button type="button" className="button" data-testid="export-csv" onClick={() => save(`${base}-scores.csv`, 'text/csv', () => scoresCsv(results))}>
        Scores CSV
      </button>
      <button type="button" className="button" data-testid="export-metrics-csv" onClick={() => save(`${base}-metrics.csv`, 'text/csv', () => metricsCsv(results))}>
        Metrics CSV
      </button>
    </div>
  );
}
