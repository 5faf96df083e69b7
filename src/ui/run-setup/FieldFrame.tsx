// The frame every settings field shares: the label (with the option's key), a reset-to-default button, the input, an inline problem and the help.
import type { ReactNode } from 'react';
import './run-setup.css';

/** What a field component takes besides its spec, value and onChange. */
export interface FieldProps {
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

/** What the frame shows around an input whose id is `id`. */
export interface FieldFrameProps {
  id: string;
  label: string;
  /** The key experiment files use (e.g. `klRatio`), shown after the label when given. */
  optionKey?: string;
  help: string;
  /** Whether the help shows under the input (else it is the label's tooltip and the input's description). */
  showHelp: boolean;
  problem: string | null;
  /** The reset button's tooltip; no button when null. */
  resetTitle: string | null;
  onReset(): void;
  children: ReactNode;
}

/** Ids of the help and problem lines, for the input's aria-describedby. */
export function describedBy(id: string, problem: string | null): string {
  return problem ? `${id}-problem ${id}-help` : `${id}-help`;
}

export function FieldFrame({ id, label, optionKey, help, showHelp, problem, resetTitle, onReset, children }: FieldFrameProps) {
  return (
    <div className={`run-setup-field${problem ? ' run-setup-field-invalid' : ''}`}>
      <div className="run-setup-field-head">
        <label htmlFor={id} title={help}>
          {label}
          {optionKey ? (
            <>
              {' '}
              <code className="run-setup-key">{optionKey}</code>
            </>
          ) : null}
        </label>
        {resetTitle !== null ? (
          <button type="button" className="run-setup-link" title={resetTitle} onClick={onReset}>
            Reset
          </button>
        ) : null}
      </div>
      {children}
      {problem ? (
        <span id={`${id}-problem`} className="run-setup-field-problem">
          {problem}
        </span>
      ) : null}
      <span id={`${id}-help`} className={showHelp ? 'run-setup-help' : 'run-setup-sr-only'}>
        {help}
      </span>
    </div>
  );
}
