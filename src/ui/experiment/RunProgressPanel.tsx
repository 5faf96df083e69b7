// The run in progress: overall and per-task progress bars with ETA and tokens/s, the live loss curves,
// and pause, resume and cancel.
import type { ActiveRun } from './use-runs.ts';
import { LineChart, type Series } from '../components/LineChart.tsx';
import { formatElapsed } from '../../report/format.ts';

const COLORS = ['#4f46e5', '#059669', '#d97706', '#dc2626', '#0891b2', '#7c3aed', '#db2777', '#65a30d', '#0d9488', '#ea580c', '#475569'];

export interface RunProgressPanelProps {
  active: ActiveRun;
  onPause(paused: boolean): void;
  onCancel(): void;
}

function Bar({ label, value, testId, detail }: { label: string; value: number; testId: string; detail?: string }) {
  const pct = Math.max(0, Math.min(100, value * 100));
  return (
    <div className="progress-row">
      <div className="progress-label"><span>{label}</span><span className="muted">{detail}</span></div>
      <div className="progress-track" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)} data-testid={testId} data-value={value.toFixed(4)}>
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function lossSeries(active: ActiveRun): Series[] {
  const methods = [...new Set(active.losses.map((l) => l.method))];
  return methods.map((m, i) => ({
    label: m,
    color: COLORS[i % COLORS.length],
    points: active.losses.filter((l) => l.method === m).map((l) => ({ x: l.step, y: l.loss })),
  }));
}

export function RunProgressPanel({ active, onPause, onCancel }: RunProgressPanelProps) {
  const p = active.progress;
  const paused = active.record?.status === 'paused';
  const phase = p ? (p.phase === 'eval' ? `evaluating task ${p.step + 1} of ${p.steps}` : `${p.phase} step ${p.step + 1} of ${p.steps}`) : null;
  return (
    <section className="card" data-testid="run-progress" data-state={paused ? 'paused' : 'running'} aria-labelledby="run-progress-title">
      <div className="card-header">
        <h2 id="run-progress-title">{active.record ? active.record.title : 'Run'}</h2>
        <div className="settings-actions">
          <button type="button" className="button" data-testid="run-pause" onClick={() => onPause(!paused)} disabled={!active.record}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button type="button" className="button" data-testid="run-cancel" onClick={onCancel}>Cancel</button>
        </div>
      </div>
      {active.notice && <p className="callout callout-warning" data-testid="run-notice">{active.notice}</p>}
      {active.status && <p className="status-line" data-testid="run-status"><span className="spinner" aria-hidden="true" /> {active.status}</p>}
      {p && (
        <>
          <Bar label="Overall" value={p.done} testId="progress-overall"
            detail={`${(p.done * 100).toFixed(1)}%${active.etaSeconds !== null ? ` · ETA ${formatElapsed(active.etaSeconds * 1000)}` : ''}`} />
          <Bar label={`${p.method} (${p.methodIndex + 1}/${p.methods}) · task ${p.task + 1}/${p.tasks}`} value={p.steps > 0 ? (p.step + 1) / p.steps : 0} testId="progress-task"
            detail={`${phase}${p.loss !== null ? ` · loss ${p.loss.toFixed(4)}` : ''}${p.tokensPerSecond !== null ? ` · ${p.tokensPerSecond.toFixed(0)} tokens/s` : ''}`} />
        </>
      )}
      {paused && <p className="muted" data-testid="run-paused">Paused between two steps; nothing is lost. Resume to go on.</p>}
      <LineChart series={lossSeries(active)} xLabel="training step" yLabel="loss" testId="run-loss-chart" emptyText="The loss appears with the first step." />
    </section>
  );
}
