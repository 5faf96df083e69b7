// The Demo panel: runs the bundled tiny model through a forward pass and a short LoRA training run, with a live loss chart.
import { useEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { DemoEvent, DemoOptions, DemoSummary, EngineClient, ModelSummary } from '../engine-client.ts';
import { formatCount, formatElapsed, formatInt, formatLoss, formatMs } from '../../report/format.ts';
import { ErrorCallout } from './ErrorCallout.tsx';
import { LineChart, type Point, type Series } from './LineChart.tsx';

/** Where the bundled tiny model is served from, relative to the page. */
export const DEMO_MODEL_PATH = 'models/tiny-random/';

const DEMO_TEXT =
  'A small model learns a little at a time. Each step reads a few short windows of this text, ' +
  'computes how surprised the model is by the next token, and nudges the low-rank adapters so that ' +
  'the next reading is less surprising. The base weights never change; only the adapters do. ' +
  'Watch the loss fall as the same sentences come around again.';

const TARGET_PRESETS = {
  all: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  attention: ['q_proj', 'v_proj'],
} as const;
type TargetPreset = keyof typeof TARGET_PRESETS;

interface Settings {
  steps: number;
  batchSize: number;
  seqLen: number;
  lr: number;
  rank: number;
  targets: TargetPreset;
}

const DEFAULT_SETTINGS: Settings = { steps: 40, batchSize: 4, seqLen: 32, lr: 0.01, rank: 8, targets: 'all' };

type Status = 'idle' | 'running' | 'stopping' | 'done' | 'cancelled' | 'error';
type StepEvent = Extract<DemoEvent, { type: 'step' }>;
type ForwardEvent = Extract<DemoEvent, { type: 'forward' }>;

interface RunState {
  status: Status;
  steps: number;
  phase: string | null;
  model: ModelSummary | null;
  loadMs: number | null;
  forward: ForwardEvent | null;
  losses: Point[];
  last: StepEvent | null;
  summary: DemoSummary | null;
  error: unknown;
  startedAt: number;
}

type Action =
  | { type: 'start'; steps: number }
  | { type: 'event'; event: DemoEvent }
  | { type: 'stopping' }
  | { type: 'finished'; summary: DemoSummary }
  | { type: 'failed'; error: unknown };

const INITIAL: RunState = {
  status: 'idle',
  steps: DEFAULT_SETTINGS.steps,
  phase: null,
  model: null,
  loadMs: null,
  forward: null,
  losses: [],
  last: null,
  summary: null,
  error: null,
  startedAt: 0,
};

function reduce(state: RunState, action: Action): RunState {
  switch (action.type) {
    case 'start':
      return { ...INITIAL, status: 'running', steps: action.steps, phase: 'Starting', startedAt: performance.now() };
    case 'event': {
      const e = action.event;
      switch (e.type) {
        case 'phase':
          return { ...state, phase: e.message };
        case 'loaded':
          return { ...state, model: e.model, loadMs: e.loadMs };
        case 'forward':
          return { ...state, forward: e };
        case 'step':
          return { ...state, last: e, losses: [...state.losses, { x: e.step, y: e.loss }], phase: `Training: step ${e.step} of ${e.steps}` };
      }
      return state;
    }
    case 'stopping':
      return state.status === 'running' ? { ...state, status: 'stopping', phase: 'Stopping after the current step' } : state;
    case 'finished':
      return {
        ...state,
        status: action.summary.cancelled ? 'cancelled' : 'done',
        summary: action.summary,
        phase: action.summary.cancelled ? `Stopped after ${action.summary.stepsDone} steps` : 'Done',
      };
    case 'failed':
      return { ...state, status: 'error', error: action.error, phase: state.last ? `Failed at step ${state.last.step + 1}` : 'Failed.' };
  }
}

export function DemoPanel({ client }: { client: EngineClient | null }) {
  const [settings, setSettings] = useState<Settings>(DEFAULT_SETTINGS);
  const [run, dispatch] = useReducer(reduce, INITIAL);
  const busy = run.status === 'running' || run.status === 'stopping';
  const now = useClock(busy);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  async function start() {
    if (!client || busy) return;
    const opts: DemoOptions = {
      modelUrl: new URL(DEMO_MODEL_PATH, document.baseURI).href,
      steps: settings.steps,
      batchSize: settings.batchSize,
      seqLen: settings.seqLen,
      lr: settings.lr,
      rank: settings.rank,
      alpha: 2 * settings.rank,
      targets: [...TARGET_PRESETS[settings.targets]],
      seed: 1234,
      text: DEMO_TEXT,
    };
    dispatch({ type: 'start', steps: opts.steps });
    try {
      const summary = await client.runDemo(opts, (event) => {
        if (mounted.current) dispatch({ type: 'event', event });
      });
      if (mounted.current) dispatch({ type: 'finished', summary });
    } catch (error) {
      console.error('demo run failed', error);
      if (mounted.current) dispatch({ type: 'failed', error });
    }
  }

  async function stop() {
    if (!client) return;
    dispatch({ type: 'stopping' });
    try {
      await client.cancelDemo();
    } catch (error) {
      dispatch({ type: 'failed', error });
    }
  }

  const elapsedMs = busy ? now - run.startedAt : (run.summary?.elapsedMs ?? run.last?.elapsedMs ?? 0);
  const series = useMemo<Series[]>(() => [{ label: 'loss', color: '#4f46e5', points: run.losses }], [run.losses]);

  return (
    <section className="card demo" data-testid="demo-panel" data-state={run.status} aria-labelledby="demo-title">
      <header className="card-header">
        <h2 id="demo-title">Demo</h2>
        <span className="tag">{DEMO_MODEL_PATH.replace(/\/$/, '')}</span>
      </header>
      <p className="muted">
        Loads the bundled tiny model, runs one forward pass, then trains LoRA adapters for a few steps on a short text,
        all on the GPU in the engine worker.
      </p>

      <form
        className="settings"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <NumberField label="Steps" value={settings.steps} min={1} max={10000} step={1} disabled={busy} onChange={(steps) => setSettings({ ...settings, steps })} />
        <NumberField label="Batch" value={settings.batchSize} min={1} max={64} step={1} disabled={busy} onChange={(batchSize) => setSettings({ ...settings, batchSize })} />
        <NumberField label="Seq length" value={settings.seqLen} min={2} max={2048} step={1} disabled={busy} onChange={(seqLen) => setSettings({ ...settings, seqLen })} />
        <NumberField label="Learning rate" value={settings.lr} min={0} max={1} step="any" disabled={busy} onChange={(lr) => setSettings({ ...settings, lr })} />
        <NumberField label="LoRA rank" value={settings.rank} min={1} max={256} step={1} disabled={busy} onChange={(rank) => setSettings({ ...settings, rank })} />
        <label className="field">
          <span>LoRA targets</span>
          <select
            title={TARGET_PRESETS[settings.targets].join(', ')}
            value={settings.targets}
            disabled={busy}
            onChange={(e) => setSettings({ ...settings, targets: e.target.value as TargetPreset })}
          >
            <option value="all">all 7</option>
            <option value="attention">q, v</option>
          </select>
        </label>
        <div className="settings-actions">
          <div className="status-line" data-testid="demo-phase" aria-live="polite">
            {busy ? <span className="spinner" aria-hidden="true" /> : null}
            {run.phase ?? (client ? 'Ready.' : 'Waiting for the engine worker…')}
          </div>
          {busy ? (
            <button type="button" className="button" onClick={() => void stop()} disabled={run.status === 'stopping'} data-testid="demo-stop">
              Stop
            </button>
          ) : (
            <button type="submit" className="button button-primary" disabled={!client} data-testid="demo-run">
              {run.status === 'idle' ? 'Run demo' : 'Run again'}
            </button>
          )}
        </div>
      </form>

      {run.status === 'error' ? <ErrorCallout title="The demo failed" error={run.error} /> : null}

      <div className="stats">
        <Stat label="Step" value={run.last ? `${run.last.step} / ${run.last.steps}` : `0 / ${run.steps}`} testId="stat-step" />
        <Stat label="Loss" value={formatLoss(run.last?.loss)} testId="stat-loss" />
        <Stat label="Tokens / s" value={run.last ? formatInt(run.last.tokensPerSec) : '–'} testId="stat-tps" />
        <Stat label="Elapsed" value={run.status === 'idle' ? '–' : formatElapsed(elapsedMs)} testId="stat-elapsed" />
      </div>

      <LineChart
        series={series}
        xLabel="step"
        yLabel="loss"
        xMin={1}
        xMax={Math.max(run.steps, 2)}
        emptyText={busy ? 'Waiting for the first step…' : 'The training loss appears here, step by step.'}
        testId="loss-chart"
      />

      {run.model || run.forward ? (
        <div className="facts">
          {run.model ? (
            <dl className="kv kv-compact" data-testid="model-info">
              <dt>Model</dt>
              <dd>{run.model.arch}</dd>
              <dt>Parameters</dt>
              <dd>{formatCount(run.model.numParams)}</dd>
              <dt>Layers × hidden</dt>
              <dd>
                {run.model.numLayers} × {run.model.hiddenSize}
              </dd>
              <dt>Vocabulary</dt>
              <dd>{formatInt(run.model.vocabSize)}</dd>
              <dt>LoRA parameters</dt>
              <dd>{formatCount(run.model.loraParams)}</dd>
              {run.loadMs !== null ? (
                <>
                  <dt>Loaded in</dt>
                  <dd>{formatMs(run.loadMs)}</dd>
                </>
              ) : null}
            </dl>
          ) : null}
          {run.forward ? (
            <dl className="kv kv-compact" data-testid="forward-info">
              <dt>Forward pass</dt>
              <dd>
                {run.forward.tokens} tokens in {formatMs(run.forward.ms)}
              </dd>
              <dt>Prompt loss</dt>
              <dd>
                {formatLoss(run.forward.loss)} <span className="muted">(uniform: {formatLoss(Math.log(run.forward.vocabSize))})</span>
              </dd>
              <dt>Next token</dt>
              <dd>#{run.forward.nextToken}</dd>
              <dt>Logits finite</dt>
              <dd>{run.forward.allFinite ? 'yes' : 'no'}</dd>
            </dl>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

function NumberField(props: {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number | 'any';
  disabled: boolean;
  onChange: (value: number) => void;
}) {
  const { label, value, min, max, step, disabled, onChange } = props;
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        inputMode="decimal"
        value={text}
        min={min}
        max={max}
        step={step}
        disabled={disabled}
        required
        onChange={(e) => {
          setText(e.target.value);
          const v = e.target.valueAsNumber;
          if (Number.isFinite(v) && v >= min && v <= max && (step === 'any' || Number.isInteger(v))) onChange(v);
        }}
      />
    </label>
  );
}

/** performance.now(), refreshed ten times a second while `active`. */
function useClock(active: boolean): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!active) return;
    setNow(performance.now());
    const id = setInterval(() => setNow(performance.now()), 100);
    return () => clearInterval(id);
  }, [active]);
  return now;
}
