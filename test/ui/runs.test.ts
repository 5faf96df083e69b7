// Tests the pure helpers of the run history, storage panel and playground: times, statuses, truncation, byte sums,
// answer history and the note saying which backend answered.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PlaygroundAnswer } from '../../src/cl/playground.ts';
import type { RunResults } from '../../src/cl/runner.ts';
import type { StorageUsage } from '../../src/storage/idb-storage.ts';
import type { CachedModelInfo } from '../../src/worker/model-store.ts';
import type { RunRecord, RunSettings, RunStatus } from '../../src/worker/run-job.ts';
import {
  canAsk, clampTask, formatWeight, HISTORY_LIMIT, moduleLabel, pickOption, pushHistory, resultMethods, topModule, weightBars, type AnswerEntry,
} from '../../src/ui/playground/playground-state.ts';
import { backendNoteText } from '../../src/ui/playground/backend-note.ts';
import type { AnswerBackendReport } from '../../src/cl/playground-backend.ts';
import {
  canDelete, canResume, formatDate, formatDateTime, formatPercent, newestFirst, progressPercent, relativeTime, RUN_STATUSES, runMethods, showsError,
  statusInfo, summarizeNames, truncateText, HELD_ELSEWHERE, TRAINING_TITLE_PREFIX,
} from '../../src/ui/runs/run-format.ts';
import { trainingTitle } from '../../src/ui/runs/use-training-title.ts';
import {
  describeOrigin, folderBytes, foldersUnder, modelBytes, modelStorageRows, quotaShare, runBytes, runsUsingModel, runStorageRows, sumBytes,
} from '../../src/ui/runs/storage-usage.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const SETTINGS: RunSettings = {
  methods: [
    { method: 'seqlora', name: 'seqlora', options: {} },
    { method: 'replay', name: 'replay-10', options: {} },
  ],
  seed: 0, steps: 10, epochs: null, batchSize: 4, lr: 1e-3, maxLength: 64, maxNewTokens: 8,
  lora: { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj'] }, evaluateUnseen: false, testFraction: 0.2, maxTrain: null, maxTest: null,
};

function record(over: Partial<RunRecord> & Pick<RunRecord, 'id'>): RunRecord {
  return {
    title: `Run ${over.id}`, created: 1_000, updated: 1_000, status: 'done', error: null,
    model: { kind: 'bundled', url: '/models/tiny/', label: 'tiny' }, modelLabel: 'tiny', tasks: ['sst2', 'ag_news'], settings: SETTINGS, done: 1,
    ...over,
  };
}

function usage(byFolder: Record<string, number>, extra: Partial<StorageUsage> = {}): StorageUsage {
  return { totalBytes: 10_000, byFolder, quota: null, usage: null, ...extra };
}

describe('relativeTime', () => {
  const now = Date.UTC(2025, 5, 15, 12, 0, 0);
  test('recent times read "just now", then whole minutes and hours', () => {
    assert.equal(relativeTime(now, now), 'just now');
    assert.equal(relativeTime(now - 44 * SEC, now), 'just now');
    assert.equal(relativeTime(now - 45 * SEC, now), '1 min ago');
    assert.equal(relativeTime(now - 90 * SEC, now), '1 min ago');
    assert.equal(relativeTime(now - 5 * MIN - 59 * SEC, now), '5 min ago');
    assert.equal(relativeTime(now - 59 * MIN, now), '59 min ago');
    assert.equal(relativeTime(now - HOUR, now), '1 h ago');
    assert.equal(relativeTime(now - 23 * HOUR - 59 * MIN, now), '23 h ago');
  });

  test('a day back is "yesterday", then days, then the date', () => {
    assert.equal(relativeTime(now - DAY, now), 'yesterday');
    assert.equal(relativeTime(now - 47 * HOUR, now), 'yesterday');
    assert.equal(relativeTime(now - 2 * DAY, now), '2 days ago');
    assert.equal(relativeTime(now - 29 * DAY, now), '29 days ago');
    const old = new Date(2024, 2, 5, 10, 30).getTime();
    assert.equal(relativeTime(old, now), 'on 2024-03-05');
  });

  test('future times read "in …"; non-numbers read "—"', () => {
    assert.equal(relativeTime(now + 10 * SEC, now), 'just now');
    assert.equal(relativeTime(now + 3 * MIN, now), 'in 3 min');
    assert.equal(relativeTime(now + 2 * HOUR, now), 'in 2 h');
    assert.equal(relativeTime(now + 30 * HOUR, now), 'tomorrow');
    assert.equal(relativeTime(Number.NaN, now), '—');
  });

  test('dates and date-times are local and zero-padded', () => {
    const t = new Date(2025, 0, 7, 9, 5).getTime();
    assert.equal(formatDate(t), '2025-01-07');
    assert.equal(formatDateTime(t), '2025-01-07 09:05');
    assert.equal(formatDateTime(Number.NaN), '—');
  });
});

describe('statusInfo', () => {
  test('every status has a label, a tone and theme colours', () => {
    assert.deepEqual(
      RUN_STATUSES.map((s) => [s, statusInfo(s).label, statusInfo(s).tone]),
      [
        ['running', 'Running', 'active'],
        ['paused', 'Paused', 'warn'],
        ['interrupted', 'Interrupted', 'warn'],
        ['cancelled', 'Cancelled', 'muted'],
        ['done', 'Done', 'ok'],
        ['failed', 'Failed', 'error'],
      ],
    );
    assert.equal(statusInfo('done').color, 'var(--ok)');
    assert.equal(statusInfo('done').background, 'var(--ok-soft)');
    assert.equal(statusInfo('failed').color, 'var(--err)');
    assert.equal(statusInfo('running').background, 'var(--accent-soft)');
    for (const s of RUN_STATUSES) assert.ok(statusInfo(s).hint.length > 0, s);
  });

  test('an unknown status reads as itself, muted', () => {
    const info = statusInfo('archived');
    assert.equal(info.label, 'archived');
    assert.equal(info.tone, 'muted');
    assert.equal(info.color, 'var(--text-muted)');
  });

  test('the error shows only for failed and interrupted runs that have one', () => {
    assert.equal(showsError({ status: 'failed', error: 'out of memory' }), true);
    assert.equal(showsError({ status: 'interrupted', error: 'GPUDevice was lost' }), true);
    assert.equal(showsError({ status: 'failed', error: null }), false);
    assert.equal(showsError({ status: 'failed', error: '  ' }), false);
    assert.equal(showsError({ status: 'cancelled', error: 'stale' }), false);
  });
});

describe('progress and truncation', () => {
  test('progress is floored to whole percent, clamped, and 100 when done', () => {
    assert.equal(progressPercent({ status: 'running', done: 0.426 }), 42);
    assert.equal(progressPercent({ status: 'running', done: 0.999 }), 99);
    assert.equal(progressPercent({ status: 'failed', done: 1.3 }), 100);
    assert.equal(progressPercent({ status: 'paused', done: -0.1 }), 0);
    assert.equal(progressPercent({ status: 'done', done: 0.5 }), 100);
    assert.equal(progressPercent({ status: 'running', done: Number.NaN }), null);
    assert.equal(formatPercent(42), '42%');
    assert.equal(formatPercent(null), '—');
  });

  test('truncateText cuts with an ellipsis within the limit', () => {
    assert.equal(truncateText('short', 10), 'short');
    assert.equal(truncateText('exactly10!', 10), 'exactly10!');
    assert.equal(truncateText('a much longer title', 8), 'a much…');
    assert.equal(truncateText('abcdef', 1), '…');
    assert.equal(truncateText('abcdef', 0), '');
    assert.ok(truncateText('x'.repeat(50), 12).length <= 12);
  });

  test('summarizeNames shows a few names, each cut, then "+N more"', () => {
    assert.deepEqual(summarizeNames(['sst2', 'ag_news', 'cola', 'boolq', 'yahoo']), {
      text: 'sst2, ag_news, cola +2 more', full: 'sst2, ag_news, cola, boolq, yahoo', count: 5,
    });
    assert.equal(summarizeNames(['a-very-long-task-name-indeed'], 3, 10).text, 'a-very-lo…');
    assert.equal(summarizeNames(['a', 'b'], 3).text, 'a, b');
    assert.equal(summarizeNames(['a', 'b'], 0).text, '+2 more');
    assert.deepEqual(summarizeNames([]), { text: '', full: '', count: 0 });
  });
});

describe('run list helpers', () => {
  test('newestFirst sorts by creation time without touching the input', () => {
    const runs = [record({ id: 'a', created: 5 }), record({ id: 'b', created: 9 }), record({ id: 'c', created: 5 }), record({ id: 'd', created: 1 })];
    assert.deepEqual(newestFirst(runs).map((r) => r.id), ['b', 'c', 'a', 'd']);
    assert.deepEqual(runs.map((r) => r.id), ['a', 'b', 'c', 'd']);
  });

  test('runMethods lists the method names in order', () => {
    assert.deepEqual(runMethods(record({ id: 'a' })), ['seqlora', 'replay-10']);
    assert.deepEqual(runMethods({ settings: { ...SETTINGS, methods: undefined as unknown as RunSettings['methods'] } }), []);
  });

  test('stopped runs can resume unless active; any run but the active one can be deleted', () => {
    const expectResume: Record<RunStatus, boolean> = { running: false, paused: true, interrupted: true, cancelled: true, done: false, failed: true };
    for (const s of RUN_STATUSES) assert.equal(canResume({ id: 'r1', status: s }, null), expectResume[s], s);
    assert.equal(canResume({ id: 'r1', status: 'paused' }, 'r1'), false);
    assert.equal(canResume({ id: 'r1', status: 'failed' }, 'r2'), true);
    assert.equal(canDelete({ id: 'r1' }, 'r1'), false);
    assert.equal(canDelete({ id: 'r1' }, 'r2'), true);
    assert.equal(canDelete({ id: 'r1' }, null), true);
  });

  test('a run another tab is training offers neither Resume nor Delete, whatever its stored status', () => {
    for (const s of RUN_STATUSES) assert.equal(canResume({ id: 'r1', status: s }, null, true), false, s);
    assert.equal(canDelete({ id: 'r1' }, null, true), false);
    assert.equal(canDelete({ id: 'r1' }, 'r2', true), false);
    assert.equal(canDelete({ id: 'r1' }, 'r2', false), true);
  });

  test('a training tab\'s title starts with the word the other tabs name it by', () => {
    assert.equal(trainingTitle('clora', null), 'clora');
    assert.equal(trainingTitle('clora', { title: 'sweep', done: 0.426, paused: false }), 'Training 42% · sweep · clora');
    assert.equal(trainingTitle('clora', { title: 'sweep', done: null, paused: true }), 'Training (paused) · sweep · clora');
    assert.ok(trainingTitle('clora', { title: 'x', done: 0, paused: false }).startsWith(TRAINING_TITLE_PREFIX));
    assert.match(HELD_ELSEWHERE, new RegExp(`title starts with “${TRAINING_TITLE_PREFIX}”`));
  });
});

describe('storage usage', () => {
  const u = usage({ runs: 7_000, 'runs/r1': 5_000, 'runs/r2': 2_000, 'runs/r2x': 0, models: 3_000, 'models/m1': 3_000 });

  test('bytes per folder, run and model; unknown reads null', () => {
    assert.equal(folderBytes(u, 'runs'), 7_000);
    assert.equal(runBytes(u, 'r1'), 5_000);
    assert.equal(runBytes(u, 'r2x'), 0);
    assert.equal(runBytes(u, 'missing'), null);
    assert.equal(modelBytes(u, 'm1'), 3_000);
    assert.equal(runBytes(null, 'r1'), null);
    assert.deepEqual(foldersUnder(u, 'runs').sort(), ['r1', 'r2', 'r2x']);
    assert.deepEqual(foldersUnder(usage({ 'runs/a/b': 3, runsx: 1, 'runs/': 2 }), 'runs'), []);
    assert.equal(sumBytes([5_000, null, 2_000]), 7_000);
    assert.equal(sumBytes([]), 0);
  });

  test('run rows: every record with its bytes, plus orphan folders, largest first', () => {
    const runs = [record({ id: 'r2', title: 'Second', status: 'failed' }), record({ id: 'r1', title: 'First' }), record({ id: 'r3', title: 'Unmeasured' })];
    assert.deepEqual(runStorageRows(u, runs), [
      { id: 'r1', title: 'First', status: 'done', bytes: 5_000 },
      { id: 'r2', title: 'Second', status: 'failed', bytes: 2_000 },
      { id: 'r2x', title: 'r2x', status: null, bytes: 0 },
      { id: 'r3', title: 'Unmeasured', status: 'done', bytes: null },
    ]);
    assert.deepEqual(runStorageRows(null, runs).map((r) => r.bytes), [null, null, null]);
  });

  test('model rows: bytes from the usage (else model.json), the runs using each, and the unfinished ones', () => {
    const models: CachedModelInfo[] = [
      { id: 'm1', label: 'SmolLM 135M', origin: 'hub:HuggingFaceTB/SmolLM-135M@main', files: ['model.safetensors'], bytes: 2_900, saved: 50 },
      { id: 'm2', label: 'Picked', origin: 'files', files: ['model.safetensors'], bytes: 4_000, saved: 60 },
    ];
    const runs = [
      record({ id: 'a', title: 'A', model: { kind: 'cached', id: 'm1' }, status: 'done' }),
      record({ id: 'b', title: 'B', model: { kind: 'cached', id: 'm1' }, status: 'paused' }),
      record({ id: 'c', title: 'C' }),
    ];
    const u2 = usage({ 'models/m1': 3_000, 'models/orphan': 10 });
    assert.deepEqual(runsUsingModel(runs, 'm1').map((r) => r.id), ['a', 'b']);
    assert.deepEqual(modelStorageRows(u2, models, runs), [
      { id: 'm2', label: 'Picked', origin: 'files', bytes: 4_000, saved: 60, usedBy: [], blockedBy: [] },
      { id: 'm1', label: 'SmolLM 135M', origin: 'hub:HuggingFaceTB/SmolLM-135M@main', bytes: 3_000, saved: 50, usedBy: ['A', 'B'], blockedBy: ['B'] },
      { id: 'orphan', label: 'orphan', origin: null, bytes: 10, saved: null, usedBy: [], blockedBy: [] },
    ]);
    assert.equal(describeOrigin('hub:HuggingFaceTB/SmolLM-135M@main'), 'Hugging Face HuggingFaceTB/SmolLM-135M@main');
    assert.equal(describeOrigin('files'), 'picked files');
    assert.equal(describeOrigin(null), 'no model.json');
  });

  test('quota share: from the browser estimate, falling back to the database total; null without a quota', () => {
    assert.equal(quotaShare(null), null);
    assert.equal(quotaShare(usage({}, { quota: null })), null);
    assert.equal(quotaShare(usage({}, { quota: 0 })), null);
    assert.deepEqual(quotaShare(usage({}, { totalBytes: 1_000, quota: 10_000, usage: 4_000 })), { used: 4_000, quota: 10_000, fraction: 0.4, databaseFraction: 0.1 });
    assert.deepEqual(quotaShare(usage({}, { totalBytes: 2_500, quota: 10_000, usage: null })), { used: 2_500, quota: 10_000, fraction: 0.25, databaseFraction: 0.25 });
    const over = quotaShare(usage({}, { totalBytes: 30_000, quota: 10_000, usage: 20_000 }))!;
    assert.equal(over.fraction, 1);
    assert.equal(over.databaseFraction, 1);
  });
});

describe('playground helpers', () => {
  test('pickOption keeps a valid choice, else takes the first option', () => {
    assert.equal(pickOption('b', ['a', 'b']), 'b');
    assert.equal(pickOption('z', ['a', 'b']), 'a');
    assert.equal(pickOption(null, ['a']), 'a');
    assert.equal(pickOption('a', []), null);
    assert.equal(clampTask(5, 3), 2);
    assert.equal(clampTask(-1, 3), 0);
    assert.equal(clampTask(1, 0), 0);
    assert.equal(clampTask(1.5, 3), 0);
  });

  test('resultMethods lists the results’ methods in order', () => {
    const results = { methods: { seqlora: {}, 'replay-10': {}, sapt: {} } } as unknown as RunResults;
    assert.deepEqual(resultMethods(results), ['seqlora', 'replay-10', 'sapt']);
    assert.deepEqual(resultMethods(null), []);
  });

  test('weight bars are labelled by task name with their share of the total', () => {
    assert.equal(moduleLabel(1, ['sst2', 'ag_news']), '2. ag_news');
    assert.equal(moduleLabel(2, ['sst2', 'ag_news']), 'module 3');
    assert.deepEqual(weightBars([0.5, 0.25, 0.25], ['sst2', 'ag_news']), [
      { index: 0, label: '1. sst2', weight: 0.5, share: 0.5 },
      { index: 1, label: '2. ag_news', weight: 0.25, share: 0.25 },
      { index: 2, label: 'module 3', weight: 0.25, share: 0.25 },
    ]);
    assert.deepEqual(weightBars([2, -1, 0], ['a', 'b', 'c']).map((b) => b.share), [1, 0, 0]);
    assert.deepEqual(weightBars([0, 0], []).map((b) => b.share), [0, 0]);
    assert.equal(topModule([0.1, 0.7, 0.7, 0.2]), 1);
    assert.equal(topModule([Number.NaN, 0.3]), 1);
    assert.equal(topModule([]), null);
    assert.equal(topModule(null), null);
    assert.equal(formatWeight(0.12345), '0.123');
    assert.equal(formatWeight(Number.POSITIVE_INFINITY), 'Infinity');
  });

  test('the history keeps the newest answers first, at most HISTORY_LIMIT', () => {
    const answer: PlaygroundAnswer = { text: 'positive', weights: null, task: 0, stage: 1, backend: null };
    const entry = (seq: number): AnswerEntry => ({ seq, runId: 'r', runTitle: 'R', method: 'seqlora', task: 0, taskNames: ['sst2'], input: `q${seq}`, answer, ms: 12 });
    let h: AnswerEntry[] = [];
    for (let i = 1; i <= HISTORY_LIMIT + 2; i++) h = pushHistory(h, entry(i));
    assert.equal(HISTORY_LIMIT, 5);
    assert.deepEqual(h.map((e) => e.seq), [7, 6, 5, 4, 3]);
    assert.deepEqual(pushHistory([entry(1)], entry(2), 1).map((e) => e.seq), [2]);
  });

  test('canAsk needs a run, a method, a non-blank input and no answer in flight', () => {
    const ok = { runId: 'r', method: 'm', input: 'hi', busy: false };
    assert.equal(canAsk(ok), true);
    assert.equal(canAsk({ ...ok, runId: null }), false);
    assert.equal(canAsk({ ...ok, method: null }), false);
    assert.equal(canAsk({ ...ok, input: '  \n' }), false);
    assert.equal(canAsk({ ...ok, busy: true }), false);
  });

  test('the backend note: who answered and why, the compared timings, and onnxruntime-web\'s uncounted set-up', () => {
    const report: AnswerBackendReport = {
      backend: 'onnxruntime', label: 'onnxruntime-web WebGPU', reason: 'onnxruntime-web is faster (120 ms against 300 ms)',
      engineMs: 300, ortMs: 120, ortSetupMs: 2500, ortWarmupMs: 4100, exportedWith: 'its one LoRA merged', comparedOn: { promptTokens: 12, maxNewTokens: 8 }, measuredNow: true,
    };
    assert.deepEqual(backendNoteText(report), {
      headline: 'Answered by onnxruntime-web WebGPU',
      reason: 'onnxruntime-web is faster (120 ms against 300 ms).',
      timings: 'One whole greedy answer (12-token prompt, up to 8 new tokens), measured on this question: clora engine 300 ms, onnxruntime-web 120 ms.',
      setup: 'onnxruntime-web ran the model exported with its one LoRA merged; its set-up (export, session) took 2.50 s and its first answer 4.10 s, not counted above.',
    });
    const later = backendNoteText({ ...report, measuredNow: false });
    assert.match(later.timings!, /measured on the first question answered with this adapter/);
    const failedReport: AnswerBackendReport = {
      ...report, backend: 'engine', label: 'clora engine', reason: 'onnxruntime-web could not run: no available backend found', ortMs: null, ortSetupMs: null, ortWarmupMs: null, exportedWith: null,
    };
    const failed = backendNoteText(failedReport);
    assert.equal(failed.headline, 'Answered by clora engine');
    assert.match(failed.timings!, /clora engine 300 ms, onnxruntime-web did not run\.$/);
    assert.equal(failed.setup, null);
    const routed = backendNoteText({ ...failedReport, reason: 'conpet-dynamic picks its task LoRAs per prompt with a learnt selector, so the engine answers', engineMs: null, comparedOn: null });
    assert.equal(routed.timings, null);
    assert.equal(routed.reason, 'conpet-dynamic picks its task LoRAs per prompt with a learnt selector, so the engine answers.');
  });
});
