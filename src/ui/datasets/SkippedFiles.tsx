// A dismissible notice listing the files of the last drop or pick that did not become tasks, with the reason for each.
import type { SkippedFile } from './group-files.ts';
import './datasets.css';

/** Shows skipped files in a warning box; renders nothing when there are none. */
export function SkippedFiles({ files, onDismiss }: { files: SkippedFile[]; onDismiss(): void }) {
  if (files.length === 0) return null;
  return (
    <div className="callout callout-warning task-skipped" role="status" data-testid="task-skipped">
      <div className="task-skipped-head">
        <span className="callout-title">
          {files.length} file{files.length === 1 ? ' was' : 's were'} not added
        </span>
        <button type="button" className="task-link" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
      <ul className="task-skipped-list">
        {files.map((f) => (
          <li key={f.path}>
            <code>{f.path}</code>: {f.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}
