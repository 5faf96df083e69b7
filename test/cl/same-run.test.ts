// Resuming: which stored results count as the same run (tasks, model, settings; key order and settings added later ignored).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sameRun } from '../../src/cl/runner.ts';
import { EXPERIMENT_DEFAULTS } from '../../src/cl/experiment.ts';
import type { RunResults } from '../../src/cl/runner.ts';

type Described = Pick<RunResults, 'tasks' | 'settings' | 'model'>;

const fresh = {
  tasks: [{ name: 'a', metric: 'em', train: 4, test: 2, labels: ['x', 'y'] }],
  model: { arch: 'llama', params: 10, layers: 2, hidden: 8 },
  settings: { seed: 0, steps: 3, lr: 0.01, recompute: EXPERIMENT_DEFAULTS.recompute, memoryBudgetMiB: EXPERIMENT_DEFAULTS.memoryBudgetMiB, seqLen: 8 },
} as unknown as Described;

describe('sameRun', () => {
  it('accepts the same run with its settings in another key order', () => {
    const reordered = { ...fresh, settings: { seqLen: 8, memoryBudgetMiB: EXPERIMENT_DEFAULTS.memoryBudgetMiB, lr: 0.01, steps: 3, recompute: EXPERIMENT_DEFAULTS.recompute, seed: 0 } } as unknown as Described;
    assert.ok(sameRun(reordered, fresh));
    // A setting left undefined in memory is absent from the stored file, as JSON.stringify writes it.
    const withUndefined = { ...fresh, settings: { ...fresh.settings, description: undefined } } as unknown as Described;
    assert.ok(sameRun(JSON.parse(JSON.stringify(withUndefined)) as Described, withUndefined));
  });

  it('leaves the memory settings out: they change neither losses nor gradients, so a run resumes under other ones', () => {
    const { recompute: _r, memoryBudgetMiB: _m, ...older } = fresh.settings as unknown as Record<string, unknown>;
    assert.ok(sameRun({ ...fresh, settings: older } as unknown as Described, fresh), 'stored before the memory settings existed');
    // Stored when the budget was a fixed 2048 MiB, resumed with the budget from the device.
    const fixed = { ...fresh, settings: { ...fresh.settings, memoryBudgetMiB: 2048, recompute: true } } as unknown as Described;
    assert.ok(sameRun(fixed, { ...fresh, settings: { ...fresh.settings, memoryBudgetMiB: 'auto' } } as unknown as Described));
  });

  it('refuses other settings, tasks or model', () => {
    assert.ok(!sameRun({ ...fresh, settings: { ...fresh.settings, lr: 0.02 } } as unknown as Described, fresh));
    assert.ok(!sameRun({ ...fresh, tasks: [] } as unknown as Described, fresh));
    assert.ok(!sameRun({ ...fresh, model: { ...fresh.model, layers: 3 } } as unknown as Described, fresh));
  });
});
