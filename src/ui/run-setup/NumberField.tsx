// A labelled number input in the shared field frame: its help (inline or as a tooltip), a reset-to-default button and an inline problem.
import { useId, useState } from 'react';
import { describedBy, FieldFrame, type FieldProps } from './FieldFrame.tsx';
import type { NumberSpec } from './method-options.ts';
import './run-setup.css';

/** The spec, the value, callbacks, and how the help shows. */
export interface NumberFieldProps extends FieldProps {
  spec: NumberSpec;
  /** The value; null when empty (optional fields), NaN when the typed text is not a number. */
  value: number | null;
  /** Receives the typed value: null when the input is empty, NaN when it is not a number. */
  onChange(value: number | null): void;
}

const show = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : String(v));
const parse = (text: string): number | null => (text.trim() === '' ? null : Number(text));
const same = (a: number | null, b: number | null): boolean => a === b || (a !== null && b !== null && Number.isNaN(a) && Number.isNaN(b));

/** The help sentence with what an empty field means, when that applies. */
export function fullHelp(spec: NumberSpec): string {
  return spec.emptyMeans ? `${spec.help} Empty: ${spec.emptyMeans}.` : spec.help;
}

/** One numeric field; the typed text is kept while it parses to the value, so "0.50" or "1e-" are not rewritten. */
export function NumberField({ spec, value, onChange, onReset, testId, disabled = false, problem = null, showHelp, showKey = false }: NumberFieldProps) {
  const id = useId();
  const [draft, setDraft] = useState(() => show(value));
  const [seen, setSeen] = useState(value);
  if (!same(seen, value)) {
    setSeen(value);
    if (!same(parse(draft), value)) setDraft(show(value));
  }
  const changed = !same(value, spec.default);
  const help = fullHelp(spec);
  return (
    <FieldFrame id={id} label={spec.label} optionKey={showKey ? spec.key : undefined} help={help} showHelp={showHelp} problem={problem}
      resetTitle={changed && !disabled ? `Back to the default (${spec.default === null ? spec.emptyMeans : spec.default})` : null} onReset={onReset}>
      <input
        id={id}
        type="number"
        inputMode={spec.integer ? 'numeric' : 'decimal'}
        data-testid={testId}
        value={draft}
        min={spec.min}
        max={spec.max}
        step={spec.step ?? 'any'}
        placeholder={spec.default === null ? spec.emptyMeans : String(spec.default)}
        disabled={disabled}
        aria-invalid={problem ? true : undefined}
        aria-describedby={describedBy(id, problem)}
        onChange={(e) => {
          const text = e.currentTarget.value;
          setDraft(text);
          onChange(parse(text));
        }}
      />
    </FieldFrame>
  );
}
