// A task's label set as chips, the first few shown and the rest behind a "+N more" toggle.
import { useState } from 'react';
import { truncateLabels } from './task-rows.ts';
import './datasets.css';

/** How many label chips show before "+N more". */
export const LABELS_SHOWN = 8;

/** The label chips (data-testid="task-labels"), or a note that the answers are free text. */
export function TaskLabels({ labels }: { labels: string[] | null }) {
  const [all, setAll] = useState(false);
  if (labels === null) {
    return (
      <span className="task-labels muted" data-testid="task-labels" data-count={0}>
        Free-text answers (no label set)
      </span>
    );
  }
  const { shown, more } = all ? { shown: labels, more: 0 } : truncateLabels(labels, LABELS_SHOWN);
  return (
    <ul className="chips task-labels" data-testid="task-labels" data-count={labels.length} aria-label={`${labels.length} labels`}>
      {shown.map((label) => (
        <li key={label} className="chip" title={label}>
          {label}
        </li>
      ))}
      {more > 0 ? (
        <li>
          <button type="button" className="chip chip-alt task-chip-more" onClick={() => setAll(true)}>
            +{more} more
          </button>
        </li>
      ) : null}
      {all && labels.length > LABELS_SHOWN ? (
        <li>
          <button type="button" className="chip chip-alt task-chip-more" onClick={() => setAll(false)}>
            show fewer
          </button>
        </li>
      ) : null}
    </ul>
  );
}
