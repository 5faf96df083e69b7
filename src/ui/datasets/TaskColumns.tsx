// The column mapping of a task file, editable: which field or column holds the input, the output and the
// instruction. Applying a mapping reads the file again through it.
import { useState } from 'react';
import type { ColumnMap } from '../../data/parse.ts';
import type { TaskPreview } from '../../data/inspect.ts';
import { COLUMN_ROLES as ROLES, columnsFromForm } from './task-rows.ts';
import './datasets.css';

export interface TaskColumnsProps {
  /** The mapping the row asks for (null: the automatic choice). */
  columns: ColumnMap | null;
  /** The fields the file was read through, when it was read. */
  chosen: TaskPreview['fields'];
  onChange(columns: ColumnMap | null): void;
  disabled?: boolean;
}

/** "Edit columns" opens three fields (data-testid="task-column-<role>") and Apply (data-testid="task-columns-apply"). */
export function TaskColumns({ columns, chosen, onChange, disabled = false }: TaskColumnsProps) {
  const [open, setOpen] = useState(false);
  const initial = () => Object.fromEntries(ROLES.map((r) => [r, columns?.[r] ?? chosen?.[r] ?? ''])) as Record<(typeof ROLES)[number], string>;
  const [values, setValues] = useState(initial);
  if (!open) {
    return (
      <button type="button" className="task-link" data-testid="task-columns-edit" disabled={disabled} onClick={() => { setValues(initial()); setOpen(true); }}>
        Edit columns
      </button>
    );
  }
  return (
    <form className="task-columns" data-testid="task-columns" onSubmit={(e) => { e.preventDefault(); onChange(columnsFromForm(values)); setOpen(false); }}>
      {ROLES.map((role) => (
        <label key={role} className="task-column">
          <span>{role}</span>
          <input type="text" value={values[role]} data-testid={`task-column-${role}`} disabled={disabled}
            placeholder={role === 'instruction' ? 'none' : 'automatic'} onChange={(e) => setValues({ ...values, [role]: e.currentTarget.value })} />
        </label>
      ))}
      <button type="submit" className="button" data-testid="task-columns-apply" disabled={disabled}>Apply</button>
      <button type="button" className="task-link" onClick={() => setOpen(false)}>Cancel</button>
      {columns ? <button type="button" className="task-link" disabled={disabled} onClick={() => { onChange(null); setOpen(false); }}>Automatic</button> : null}
    </form>
  );
}
