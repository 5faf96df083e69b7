// A labelled number input with its help (inline or as a tooltip), a reset-to-default button and an inline problem.
import { useId, useState } from 'react';
import type { NumberSpec } from './method-options.ts';
import './run-setup.css';

/** The spec, the value, callbacks, and how the help shows. */
export interface NumberFieldProps {
  spec: NumberSpec;
  /** The value; null when empty (optional fields), NaN when the typed text is not a number. */
  value: number | null;
  /** Receives the typed value: null when the input is empty, NaN when it is not a number. */
  onChange(value: number | null): void;
  /** Puts the field back to its default. */
  onReset(): void;
  testId?: string;
  disabled?: boolean;
  /** A message to show under the input, marking it invalid. */
  problem?: string | null;
  /** Whether the help shows under the input (else it is the label's tooltip and the input's description). */
  showHelp: boolean;
  /** Whether the label also shows the key (e.g. `klRatio`), as experiment files name it. */
  showKey?: boolean;
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
  const helpId = `${id}-help`;
  const problemId = `${id}-problem`;
  const [draft, setDraft] = useState(() => show(value));
  const [seen, setSeen] = useState(value);
  if (!same(seen, value)) {
    setSeen(value);
    if (!same(parse(draft), value)) setDraft(show(value));
  }
  const changed = !same(value, spec.default);
  const help = fullHelp(spec);
  return (
    <div className={`run-setup-field${problem ? ' run-setup-field-invalid' : ''}`}>
      <div className="run-setup-field-head">
        <label htmlFor={id} title={help}>
          {spec.label}
          {showKey ? (
            <>
              {' '}
              <code className="run-setup-key">{spec.key}</code>
            </>
          ) : null}
        </label>
        {changed && !disabled ? (
          <button type="button" className="run-setup-link" title={`Back to the default (${spec.default === null ? spec.emptyMeans : spec.default})`} onClick={onReset}>
            Reset
          </button>
        ) : null}
      </div>
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
        aria-describedby={problem ? `${problemId} ${helpId}` : helpId}
        onChange={(e) => {
          const text = e.currentTarget.value;
          setDraft(text);
          onChange(parse(text));
        }}
      />
      {problem ? (
        <span id={problemId} className="run-setup-field-problem">
          {problem}
        </span>
      ) : null}
      <span id={helpId} className={showHelp ? 'run-setup-help' : 'run-setup-sr-only'}>
        {help}
      </span>
    </div>
  );
}
