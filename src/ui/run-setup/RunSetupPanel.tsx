// The "Methods and settings" panel: pick the methods to compare on the task stream, set their options and the shared settings.
import { useState } from 'react';
import type { RunSettings } from '../../worker/run-job.ts';
import { methodNames, settingsProblems } from './method-options.ts';
import { MethodRow } from './MethodRow.tsx';
import { SettingsProblems } from './SettingsProblems.tsx';
import { SharedSettings } from './SharedSettings.tsx';
import './run-setup.css';

/** Pure helpers, re-exported for the panel's parent. */
export { defaultRunSettings, validateSettings } from './method-options.ts';

/** The settings (owned by the parent), the change callback, and the lock. */
export interface RunSetupPanelProps {
  value: RunSettings;
  /** Receives the whole new settings after every edit, valid or not (check them with validateSettings). */
  onChange(value: RunSettings): void;
  /** Locks every input, e.g. while a run uses these settings; options can still be expanded and read. */
  disabled?: boolean;
}

/** The panel (data-testid="run-setup-panel"): the method picker, the shared settings, and the problems list. */
export function RunSetupPanel({ value, onChange, disabled = false }: RunSetupPanelProps) {
  const [showHelp, setShowHelp] = useState(false);
  const found = settingsProblems(value);
  const byField = new Map<string, string>();
  for (const p of found) if (!byField.has(p.field)) byField.set(p.field, p.message);
  const count = value.methods.length;
  return (
    <section className="card run-setup" data-testid="run-setup-panel" aria-labelledby="run-setup-title">
      <header className="card-header">
        <h2 id="run-setup-title">Methods and settings</h2>
        <span className="tag">{count === 0 ? 'no method' : count === 1 ? '1 method' : `${count} methods`}</span>
      </header>
      <p className="muted run-setup-intro">
        Every method picked here learns the same task stream from the same base model, so their scores compare directly. Add a method twice to
        compare two of its settings.
      </p>
      <h3 id="run-setup-methods-title">Methods</h3>
      <ul className="run-setup-methods" aria-labelledby="run-setup-methods-title">
        {methodNames().map((m) => (
          <MethodRow key={m} method={m} methods={value.methods} onMethods={(methods) => onChange({ ...value, methods })} problems={byField} disabled={disabled} />
        ))}
      </ul>
      <div className="run-setup-settings-head">
        <h3>Shared settings</h3>
        <button type="button" className="run-setup-link" aria-pressed={showHelp} onClick={() => setShowHelp(!showHelp)}>
          {showHelp ? 'Hide explanations' : 'Explain each setting'}
        </button>
      </div>
      <SharedSettings value={value} onChange={onChange} problems={byField} disabled={disabled} showHelp={showHelp} />
      <SettingsProblems problems={found.map((p) => p.message)} />
    </section>
  );
}
