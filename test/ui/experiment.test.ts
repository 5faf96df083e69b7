// The experiment view's pure pieces: live run state from worker events, losses of a resumed run, and which adapter folder a stage exports.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunProgress, RunResults } from '../../src/cl/runner.ts';
import { adapterFolderFor } from '../../src/ui/experiment/adapter-export.ts';
import { applyRunEvent, lossesFromResults, type ActiveRun } from '../../src/ui/experiment/use-runs.ts';

const EMPTY: ActiveRun = { record: null, progress: null, etaSeconds: null, status: null, losses: [], results: null, notice: null };

function progress(method: string, phase: string, step: number, loss: number | null): RunProgress {
  return { method, methodIndex: 0, methods: 2, phase, task: 0, tasks: 2, step, steps: 4, loss, tokensPerSecond: 10, done: 0.1 };
}

function results(methods: RunResults['methods']): RunResults {
  return {
    version: 1, model: { arch: 'llama', params: 1, layers: 1, hidden: 1 }, device: 'x', settings: {} as RunResults['settings'],
    tasks: [{ name: 'a', metric: 'em', train: 1, test: 1, labels: null }, { name: 'b', metric: 'em', train: 1, test: 1, labels: null }],
    methods, singleTask: null, seconds: 1,
  };
}

const method = (matrix: RunResults['methods'][string]['matrix'], losses: { phase: string; loss: number }[]): RunResults['methods'][string] => ({
  method: 'm', matrix, final: [], metrics: null, routing: null, samples: [], timings: { trainSeconds: [], evalSeconds: [], tokensPerSecond: 0 },
  losses: losses.map((l, i) => ({ task: 0, phase: l.phase, step: i, loss: l.loss })),
});

describe('experiment view state', () => {
  it('numbers training losses per method and ignores evaluation and selector phases', () => {
    let a = EMPTY;
    for (const e of [progress('seqlora', 'train', 0, 2), progress('seqlora', 'eval', 0, null), progress('sapt', 'selector', 0, 9), progress('sapt', 'train', 0, 3), progress('seqlora', 'train', 1, 1.5)]) {
      a = applyRunEvent(a, { type: 'progress', progress: e, elapsedMs: 1, etaSeconds: 5 });
    }
    assert.deepEqual(a.losses, [{ method: 'seqlora', step: 1, loss: 2 }, { method: 'sapt', step: 1, loss: 3 }, { method: 'seqlora', step: 2, loss: 1.5 }]);
    assert.equal(a.etaSeconds, 5);
    assert.equal(a.progress!.method, 'seqlora');
  });

  it('shows a status line until the next progress, with the bytes read', () => {
    const a = applyRunEvent(EMPTY, { type: 'status', message: 'Copying', loaded: 2048, total: null });
    assert.equal(a.status, 'Copying (2 KiB)');
    assert.equal(applyRunEvent(a, { type: 'progress', progress: progress('m', 'train', 0, 1), elapsedMs: 1, etaSeconds: null }).status, null);
  });

  it('starts a resumed run\'s loss chart from the stored training losses', () => {
    const r = results({ seqlora: method([[1, null], [null, null]], [{ phase: 'train', loss: 4 }, { phase: 'train', loss: 3 }]), sapt: method(null, [{ phase: 'selector', loss: 9 }, { phase: 'train', loss: 5 }]) });
    assert.deepEqual(lossesFromResults(r), [{ method: 'seqlora', step: 1, loss: 4 }, { method: 'seqlora', step: 2, loss: 3 }, { method: 'sapt', step: 1, loss: 5 }]);
    assert.deepEqual(lossesFromResults(null), []);
  });

  it('exports the adapter after a stage, the task\'s module, or the joint adapter', () => {
    const r = results({ seqlora: method([[1, null], [1, 1]], []), inclora: method([[1, null], [1, 1]], []), mtl: method(null, []) });
    assert.equal(adapterFolderFor(['after-a', 'after-b'], r, 'seqlora', 1), 'after-b');
    assert.equal(adapterFolderFor(['a', 'b'], r, 'inclora', 0), 'a');
    assert.equal(adapterFolderFor(['joint'], r, 'mtl', 0), 'joint');
    assert.equal(adapterFolderFor(['after-a'], r, 'seqlora', 1), null, 'no folder for a stage not saved');
  });
});

describe('model load errors', () => {
  it('a request that got no answer is one sentence about the network; other errors keep their first line', async () => {
    const { modelLoadProblem } = await import('../../src/ui/experiment/model-errors.ts');
    const hub = { kind: 'hub', repo: 'org/model', revision: 'main' } as never;
    assert.equal(modelLoadProblem(new TypeError('Failed to fetch'), hub), 'The Hugging Face Hub could not be reached: the network is unreachable (or the address is wrong).');
    assert.equal(modelLoadProblem(new TypeError('NetworkError when attempting to fetch resource.'), { kind: 'bundled', url: 'x', label: 'demo' } as never),
      'The model files could not be fetched: the network is unreachable.');
    assert.equal(modelLoadProblem(new Error('org/model is a gated model (no token was given): accept its licence\n    at f (x.js:1)'), hub),
      'org/model is a gated model (no token was given): accept its licence');
  });
});
