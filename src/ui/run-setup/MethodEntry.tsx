// One selected method run (e.g. "sapt" or "sapt-2"): its result name, and its options behind an expander with reset-to-default.
import { useId, useState } from 'react';
import type { MethodRef } from '../../cl/experiment.ts';
import { isChoiceSpec, methodOptionSpecs, type NumberSpec } from './method-options.ts';
import { changedOptionCount } from './method-picks.ts';
import { ChoiceField } from './ChoiceField.tsx';
import { NumberField } from './NumberField.tsx';
import './run-setup.css';

/** The entry, its position in the method list, its problems by field, and the edits it can make. */
export interface MethodEntryProps {
  entry: MethodRef;
  /** Position in `RunSettings.methods`, which problems are keyed by ("methods[2].klRatio"). */
  index: number;
  /** Problems of the whole settings by field; the entry picks its own. */
  problems: ReadonlyMap<string, string>;
  /** Whether the options start expanded (entries added with "Add another" do). */
  initiallyOpen: boolean;
  /** Whether this entry can be removed on its own (when its method has others). */
  removable: boolean;
  disabled: boolean;
  onOption(key: string, value: number | string | undefined): void;
  onResetAll(): void;
  onRename(name: string): void;
  onRemove(): void;
}

/** What a numeric option's input shows: its set value, or its default when unset. */
function shownValue(entry: MethodRef, spec: NumberSpec): number | null {
  const v = entry.options[spec.key];
  return typeof v === 'number' ? v : spec.default;
}

/** The entry (data-testid="method-options-<name>"): a header line with a toggle, then the name and option fields when open. */
export function MethodEntry(props: MethodEntryProps) {
  const { entry, index, problems, disabled } = props;
  const [open, setOpen] = useState(props.initiallyOpen);
  const bodyId = useId();
  const nameId = useId();
  const specs = methodOptionSpecs(entry.method);
  const changed = changedOptionCount(entry);
  const prefix = `methods[${index}]`;
  const own = [...problems.entries()].filter(([field]) => field === prefix || field.startsWith(`${prefix}.`));
  const nameProblem = problems.get(`${prefix}.name`) ?? null;
  return (
    <div className={`run-setup-entry${own.length > 0 ? ' run-setup-entry-invalid' : ''}`} data-testid={`method-options-${entry.name}`} data-method={entry.method}>
      <div className="run-setup-entry-head">
        <button type="button" className="run-setup-expander" aria-expanded={open} aria-controls={open ? bodyId : undefined} onClick={() => setOpen(!open)}>
          <span className="run-setup-caret" aria-hidden="true">
            {open ? '▾' : '▸'}
          </span>
          <code>{entry.name || '(unnamed)'}</code>
        </button>
        <span className="muted run-setup-entry-note">
          {specs.length === 0 ? 'no options' : changed === 0 ? 'defaults' : `${changed} changed`}
        </span>
        {own.length > 0 ? <span className="tag tag-warn">needs a fix</span> : null}
        {props.removable && !disabled ? (
          <button type="button" className="run-setup-link run-setup-entry-remove" data-testid={`method-remove-${entry.name}`} onClick={props.onRemove}>
            Remove
          </button>
        ) : null}
      </div>
      {open ? (
        <div id={bodyId} className="run-setup-entry-body">
          <div className={`run-setup-field${nameProblem ? ' run-setup-field-invalid' : ''}`}>
            <label htmlFor={nameId}>Name in results</label>
            <input
              id={nameId}
              type="text"
              className="run-setup-name"
              data-testid={`method-name-${index}`}
              value={entry.name}
              disabled={disabled}
              spellCheck={false}
              aria-invalid={nameProblem ? true : undefined}
              onChange={(e) => props.onRename(e.currentTarget.value)}
            />
            {nameProblem ? <span className="run-setup-field-problem">{nameProblem}</span> : null}
          </div>
          {specs.length > 0 ? (
            <div className="run-setup-options">
              {specs.map((spec) =>
                isChoiceSpec(spec) ? (
                  <ChoiceField
                    key={spec.key}
                    spec={spec}
                    value={typeof entry.options[spec.key] === 'string' ? (entry.options[spec.key] as string) : spec.default}
                    testId={`method-option-${entry.name}-${spec.key}`}
                    problem={problems.get(`${prefix}.${spec.key}`) ?? null}
                    disabled={disabled}
                    showHelp
                    showKey
                    onChange={(v) => props.onOption(spec.key, v === spec.default ? undefined : v)}
                    onReset={() => props.onOption(spec.key, undefined)}
                  />
                ) : (
                  <NumberField
                    key={spec.key}
                    spec={spec}
                    value={shownValue(entry, spec)}
                    testId={`method-option-${entry.name}-${spec.key}`}
                    problem={problems.get(`${prefix}.${spec.key}`) ?? null}
                    disabled={disabled}
                    showHelp
                    showKey
                    onChange={(v) => props.onOption(spec.key, v === null ? (spec.default === null ? undefined : Number.NaN) : v)}
                    onReset={() => props.onOption(spec.key, undefined)}
                  />
                ),
              )}
            </div>
          ) : (
            <p className="muted run-setup-none">This method has no options of its own; the shared settings below apply.</p>
          )}
          {changed > 0 && !disabled ? (
            <button type="button" className="run-setup-link" onClick={props.onResetAll}>
              Reset all options to defaults
            </button>
          ) : null}
          {own.some(([field]) => field === prefix) ? (
            <p className="run-setup-field-problem">{problems.get(prefix)}</p>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
