// A folded table of a task's first training examples, as the model will read them: the raw input and output, and,
// once a model is loaded, the exact rendered prompt and answer with special tokens shown apart.
import { useEffect, useState } from 'react';
import type { PromptPiece, PromptPreview } from '../../data/prompt-preview.ts';
import type { Example } from '../../data/task.ts';
import type { PreviewPrompts } from './TaskPanel.tsx';
import './datasets.css';

function Pieces({ pieces }: { pieces: PromptPiece[] }) {
  return (
    <>
      {pieces.map((p, i) => (p.special ? <mark key={i} className="special-token" data-testid="special-token">{p.text}</mark> : <span key={i}>{p.text}</span>))}
    </>
  );
}

/** The first rows of a task (data-testid="task-preview"), folded until opened. */
export function TaskPreviewTable({ rows, fields, instruction = '', render, modelKey = null }: {
  rows: Example[];
  fields: { input: string; output: string } | null;
  instruction?: string;
  render?: PreviewPrompts;
  modelKey?: string | null;
}) {
  const [open, setOpen] = useState(false);
  const [rendered, setRendered] = useState<PromptPreview[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!open || !render) return;
    let live = true;
    render(instruction, rows.map((r) => ({ input: r.input, output: r.output }))).then(
      (out) => { if (live) { setRendered(out); setError(null); } },
      (e: unknown) => { if (live) { setRendered(null); setError(e instanceof Error ? e.message : String(e)); } },
    );
    return () => { live = false; };
  }, [open, render, instruction, rows, modelKey]);
  return (
    <details className="task-preview" data-testid="task-preview" onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>
        Preview: first {rows.length} training example{rows.length === 1 ? '' : 's'}
      </summary>
      {error !== null ? <p className="callout callout-warning">The prompts could not be rendered: {error}</p> : null}
      <div className="task-preview-scroll">
        <table className="task-preview-table">
          <thead>
            <tr>
              <th scope="col">Input{fields ? <span className="muted"> ({fields.input})</span> : null}</th>
              <th scope="col">Output{fields ? <span className="muted"> ({fields.output})</span> : null}</th>
              {rendered ? <th scope="col">As the model reads it <span className="muted">(prompt, then the trained answer; special tokens marked)</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i}>
                <td title={row.input}>
                  <div className="task-cell">{row.input}</div>
                </td>
                <td title={row.output}>
                  <div className="task-cell">{row.output}</div>
                </td>
                {rendered?.[i] ? (
                  <td data-testid="rendered-prompt">
                    <pre className="task-rendered"><Pieces pieces={rendered[i].prompt} /><strong className="task-rendered-answer"><Pieces pieces={rendered[i].answer} /></strong></pre>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
