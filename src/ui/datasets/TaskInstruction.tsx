// The editable instruction of a task: empty keeps the data's own (shown as the placeholder), text overrides it.
import { useId } from 'react';
import './datasets.css';

/** The override, the data's instruction it replaces, and the change callback. */
export interface TaskInstructionProps {
  /** The override typed so far; null when the data's instruction is used. */
  value: string | null;
  /** The instruction found in the data, or the default one. */
  fromData: string;
  /** Whether `fromData` really came from the data (else it is the default). */
  isFromData: boolean;
  onChange(value: string | null): void;
  disabled?: boolean;
}

/** Labelled textarea (data-testid="task-instruction") with a button to go back to the data's instruction. */
export function TaskInstruction({ value, fromData, isFromData, onChange, disabled = false }: TaskInstructionProps) {
  const id = useId();
  const overridden = value !== null;
  return (
    <div className="task-instruction">
      <div className="task-instruction-head">
        <label htmlFor={id}>Instruction</label>
        <span className="muted">
          {overridden ? 'your own, replacing the data’s' : isFromData ? 'from the data; type to replace it' : 'none in the data, so the default; type to replace it'}
        </span>
        {overridden ? (
          <button type="button" className="task-link" disabled={disabled} onClick={() => onChange(null)}>
            Use the data’s
          </button>
        ) : null}
      </div>
      <textarea
        id={id}
        data-testid="task-instruction"
        rows={2}
        value={value ?? ''}
        placeholder={fromData}
        disabled={disabled}
        onChange={(e) => onChange(e.currentTarget.value === '' ? null : e.currentTarget.value)}
      />
    </div>
  );
}
