// The playground's last few answers, newest first; choosing one shows it again in full.
import { formatMs } from '../../report/format.ts';
import { truncateText } from '../runs/run-format.ts';
import type { AnswerEntry } from './playground-state.ts';
import './playground.css';

export interface AnswerHistoryProps {
  entries: AnswerEntry[];
  /** The entry on show. */
  shownSeq: number | null;
  onShow(seq: number): void;
}

/** Test id `playground-history`; items `playground-history-item` with `data-seq`. */
export function AnswerHistory({ entries, shownSeq, onShow }: AnswerHistoryProps) {
  if (entries.length === 0) return null;
  return (
    <div className="playground-history" data-testid="playground-history">
      <h3>Recent answers</h3>
      <ol>
        {entries.map((e) => (
          <li key={e.seq}>
            <button
              type="button"
              className={`playground-history-item${e.seq === shownSeq ? ' playground-history-shown' : ''}`}
              onClick={() => onShow(e.seq)}
              aria-pressed={e.seq === shownSeq}
              data-testid="playground-history-item"
              data-seq={e.seq}
            >
              <span className="playground-history-input" title={e.input}>
                {truncateText(e.input.replace(/\s+/g, ' '), 80)}
              </span>
              <span className="playground-history-answer" title={e.answer.text}>
                → {truncateText(e.answer.text.replace(/\s+/g, ' '), 80) || '(empty)'}
              </span>
              <span className="muted playground-history-meta">
                {truncateText(e.runTitle, 30)} · {e.method} · task {e.task + 1} · {formatMs(e.ms)}
              </span>
            </button>
          </li>
        ))}
      </ol>
    </div>
  );
}
