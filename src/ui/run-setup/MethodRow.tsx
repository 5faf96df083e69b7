// One method of the registry in the picker: its checkbox and summary, its selected runs, and "Add another" for a second setting.
import { useId } from 'react';
import type { MethodRef } from '../../cl/experiment.ts';
import { methodSummary } from './method-options.ts';
import { addMethod, removeEntry, removeMethod, renameEntry, resetOptions, setOption } from './method-picks.ts';
import { MethodEntry } from './MethodEntry.tsx';
import './run-setup.css';

/** The method, the whole selection (which this row edits), problems by field, and the lock. */
export interface MethodRowProps {
  method: string;
  methods: readonly MethodRef[];
  onMethods(methods: MethodRef[]): void;
  problems: ReadonlyMap<string, string>;
  disabled: boolean;
}

/** A list item with the checkbox (data-testid="method-toggle-<method>"); checked while the method has at least one entry. */
export function MethodRow({ method, methods, onMethods, problems, disabled }: MethodRowProps) {
  const id = useId();
  const summaryId = `${id}-summary`;
  const entries = methods.map((ref, index) => ({ ref, index })).filter((e) => e.ref.method === method);
  const on = entries.length > 0;
  return (
    <li className={`run-setup-method${on ? ' run-setup-method-on' : ''}`}>
      <div className="run-setup-method-head">
        <input
          id={id}
          type="checkbox"
          data-testid={`method-toggle-${method}`}
          checked={on}
          disabled={disabled}
          aria-describedby={summaryId}
          onChange={(e) => onMethods(e.currentTarget.checked ? addMethod(methods, method) : removeMethod(methods, method))}
        />
        <label id={`${id}-label`} htmlFor={id} className="run-setup-method-name">
          {method}
        </label>
        <span id={summaryId} className="muted run-setup-method-summary">
          {methodSummary(method)}
        </span>
        {on && !disabled ? (
          <button
            type="button"
            className="run-setup-link run-setup-add"
            data-testid={`method-add-${method}`}
            title={`Run ${method} once more, with other options, under its own name`}
            aria-describedby={`${id}-label`}
            onClick={() => onMethods(addMethod(methods, method))}
          >
            + Add another
          </button>
        ) : null}
      </div>
      {on ? (
        <div className="run-setup-entries">
          {entries.map(({ ref, index }, k) => (
            <MethodEntry
              key={k}
              entry={ref}
              index={index}
              problems={problems}
              initiallyOpen={k > 0}
              removable={entries.length > 1}
              disabled={disabled}
              onOption={(key, value) => onMethods(setOption(methods, index, key, value))}
              onResetAll={() => onMethods(resetOptions(methods, index))}
              onRename={(name) => onMethods(renameEntry(methods, index, name))}
              onRemove={() => onMethods(removeEntry(methods, index))}
            />
          ))}
        </div>
      ) : null}
    </li>
  );
}
