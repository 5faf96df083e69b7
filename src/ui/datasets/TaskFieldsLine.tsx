// The field or column names a task's records were read through, as "role ← name" pairs.
import type { TaskPreview } from '../../data/inspect.ts';
import './datasets.css';

/** One line naming the chosen fields (data-testid="task-fields"); nothing when they are unknown. */
export function TaskFieldsLine({ fields }: { fields: TaskPreview['fields'] }) {
  if (fields === null) return null;
  const pairs: [string, string | null][] = [
    ['input', fields.input],
    ['output', fields.output],
    ['instruction', fields.instruction],
    ['split', fields.split],
  ];
  return (
    <span className="task-fields" data-testid="task-fields">
      {pairs
        .filter((p): p is [string, string] => p[1] !== null)
        .map(([role, name]) => (
          <span key={role} className="task-field">
            {role} ← <code>{name}</code>
          </span>
        ))}
    </span>
  );
}
