// The settings every method shares (training, text lengths, data, LoRA), as a compact grid of labelled fields.
import { useId } from 'react';
import { DEFAULT_PROMPT_DATE } from '../../model/chat-template.ts';
import { PROJ_NAMES } from '../../model/peft.ts';
import type { RunSettings } from '../../worker/run-job.ts';
import {
  EVALUATE_UNSEEN_HELP, getSetting, setSetting, settingSpec, TARGETS_HELP, toggleTarget, type NumberSettingKey,
} from './method-options.ts';
import { NumberField } from './NumberField.tsx';
import './run-setup.css';

/** The settings, the change callback, problems by field, and how help shows. */
export interface SharedSettingsProps {
  value: RunSettings;
  onChange(value: RunSettings): void;
  problems: ReadonlyMap<string, string>;
  disabled: boolean;
  showHelp: boolean;
}

const GROUPS: { title: string; keys: NumberSettingKey[] }[] = [
  { title: 'Training', keys: ['steps', 'batchSize', 'lr', 'seed', 'memoryBudgetMiB'] },
  { title: 'Text', keys: ['maxLength', 'maxNewTokens'] },
  { title: 'Data', keys: ['testFraction', 'maxTrain', 'maxTest'] },
  { title: 'LoRA', keys: ['rank', 'alpha', 'dropout'] },
];

/** The groups of fields (data-testid="setting-<key>" on each input), the unseen-tasks switch and the LoRA targets. */
export function SharedSettings({ value, onChange, problems, disabled, showHelp }: SharedSettingsProps) {
  const field = (key: NumberSettingKey) => {
    const spec = settingSpec(key);
    return (
      <NumberField
        key={key}
        spec={spec}
        value={getSetting(value, key)}
        testId={`setting-${key}`}
        problem={problems.get(spec.field) ?? null}
        disabled={disabled}
        showHelp={showHelp}
        onChange={(v) => onChange(setSetting(value, key, v))}
        onReset={() => onChange(setSetting(value, key, spec.default))}
      />
    );
  };
  return (
    <div className="run-setup-settings">
      {GROUPS.map((g) => (
        <fieldset key={g.title} className="run-setup-group">
          <legend>{g.title}</legend>
          <div className="run-setup-grid">{g.keys.map(field)}</div>
          {g.title === 'Training' && value.steps === null && value.epochs !== null ? (
            <p className="muted run-setup-note">These settings train for {value.epochs} epochs per task; typing a step count replaces that.</p>
          ) : null}
          {g.title === 'Data' ? <EvaluateUnseen value={value} onChange={onChange} disabled={disabled} showHelp={showHelp} /> : null}
          {g.title === 'Text' ? <ChatThinking value={value} onChange={onChange} disabled={disabled} showHelp={showHelp} /> : null}
          {g.title === 'LoRA' ? <Targets value={value} onChange={onChange} problem={problems.get('lora.targets') ?? null} disabled={disabled} showHelp={showHelp} /> : null}
        </fieldset>
      ))}
    </div>
  );
}

type SwitchProps = Omit<SharedSettingsProps, 'problems'>;

/** The "Evaluate unseen tasks" checkbox (data-testid="setting-evaluateUnseen"). */
function EvaluateUnseen({ value, onChange, disabled, showHelp }: SwitchProps) {
  const helpId = useId();
  return (
    <div className="run-setup-check">
      <label title={EVALUATE_UNSEEN_HELP}>
        <input
          type="checkbox"
          data-testid="setting-evaluateUnseen"
          checked={value.evaluateUnseen}
          disabled={disabled}
          aria-describedby={helpId}
          onChange={(e) => onChange({ ...value, evaluateUnseen: e.currentTarget.checked })}
        />{' '}
        Evaluate unseen tasks
      </label>
      <span id={helpId} className={showHelp ? 'run-setup-help' : 'run-setup-sr-only'}>
        {EVALUATE_UNSEEN_HELP}
      </span>
    </div>
  );
}

const THINKING_HELP = 'Chat templates with a thinking switch (Qwen3\'s enable_thinking) render the prompt with thinking on: the answer then follows an empty think block. Off by default. Templates that ask for today\'s date get the fixed date recorded with the run.';

/** Qwen3's enable_thinking for this run's prompts (data-testid="setting-enableThinking"). */
function ChatThinking({ value, onChange, disabled, showHelp }: SwitchProps) {
  const helpId = useId();
  const chat = value.chat ?? { enableThinking: false, date: DEFAULT_PROMPT_DATE };
  return (
    <div className="run-setup-check">
      <label title={THINKING_HELP}>
        <input
          type="checkbox"
          data-testid="setting-enableThinking"
          checked={chat.enableThinking}
          disabled={disabled}
          aria-describedby={helpId}
          onChange={(e) => onChange({ ...value, chat: { ...chat, enableThinking: e.currentTarget.checked } })}
        />{' '}
        Thinking in chat prompts (prompt date {chat.date})
      </label>
      <span id={helpId} className={showHelp ? 'run-setup-help' : 'run-setup-sr-only'}>
        {THINKING_HELP}
      </span>
    </div>
  );
}

/** One checkbox per projection (data-testid="setting-target-<proj>"), in a fieldset named "LoRA targets". */
function Targets({ value, onChange, problem, disabled, showHelp }: SwitchProps & { problem: string | null }) {
  const helpId = useId();
  return (
    <fieldset className={`run-setup-targets${problem ? ' run-setup-field-invalid' : ''}`} aria-describedby={helpId}>
      <legend title={TARGETS_HELP}>LoRA targets</legend>
      <div className="run-setup-target-list">
        {PROJ_NAMES.map((p) => (
          <label key={p} className="run-setup-target">
            <input
              type="checkbox"
              data-testid={`setting-target-${p}`}
              checked={value.lora.targets.includes(p)}
              disabled={disabled}
              onChange={(e) => onChange(toggleTarget(value, p, e.currentTarget.checked))}
            />{' '}
            <code>{p}</code>
          </label>
        ))}
      </div>
      {problem ? <span className="run-setup-field-problem">{problem}</span> : null}
      <span id={helpId} className={showHelp ? 'run-setup-help' : 'run-setup-sr-only'}>
        {TARGETS_HELP}
      </span>
    </fieldset>
  );
}
