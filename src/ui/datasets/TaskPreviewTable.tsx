// A folded table of a task's first training examples, as the model will read them.
import type { Example } from '../../data/task.ts';
import './datasets.css';

/** The first rows of a task (data-testid="task-preview"), folded until opened. */
export function TaskPreviewTable({ rows, fields }: { rows: Example[]; fields: { input: string; output: string } | null }) {
  return (
    <details className="task-preview" data-testid="task-preview">
      <summary>
        Preview: first {rows.length} training example{rows.length === 1 ? '' : 's'}
      </summary>
      <div className="task-preview-scroll">
        <table className="task-preview-table">
          <thead>
            <tr>
              <th scope="col">Input{fields ? <span className="muted"> ({fields.input})</span> : null}</th>
              <th scope="col">Output{fields ? <span className="muted"> ({fields.output})</span> : null}</th>
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
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
