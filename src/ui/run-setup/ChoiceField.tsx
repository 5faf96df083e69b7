// A labelled select, in the shared field frame, for an option picked from a fixed list.
import { useId } from 'react';
import { describedBy, FieldFrame, type FieldProps } from './FieldFrame.tsx';
import type { ChoiceSpec } from './method-options.ts';

/** The spec, the chosen value, callbacks, and how the help shows. */
export interface ChoiceFieldProps extends FieldProps {
  spec: ChoiceSpec;
  value: string;
  onChange(value: string): void;
}

/** One choice field; a value outside the list (from a hand-edited file) is shown as its own entry so it can be seen and fixed. */
export function ChoiceField({ spec, value, onChange, onReset, testId, disabled = false, problem = null, showHelp, showKey = false }: ChoiceFieldProps) {
  const id = useId();
  const known = spec.choices.some((c) => c.value === value);
  return (
    <FieldFrame id={id} label={spec.label} optionKey={showKey ? spec.key : undefined} help={spec.help} showHelp={showHelp} problem={problem}
      resetTitle={value !== spec.default && !disabled ? `Back to the default (${spec.default})` : null} onReset={onReset}>
      <select
        id={id}
        data-testid={testId}
        value={value}
        disabled={disabled}
        aria-invalid={problem ? true : undefined}
        aria-describedby={describedBy(id, problem)}
        onChange={(e) => onChange(e.currentTarget.value)}
      >
        {spec.choices.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
        {known ? null : <option value={value}>{value}</option>}
      </select>
    </FieldFrame>
  );
}
