// The comparison logic shared by the bench and the playground, with fake runners on a fake clock: timing (warm-up,
// minimum duration, maximum count), the backend choice (the faster wins; ties, failures and different results keep
// the engine), and compareBackends putting them together.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBackend, compareBackends, TIE_MARGIN } from '../../src/backends/compare.ts';
import { measure } from '../../src/backends/timing.ts';

/** A clock that only moves when a fake runner says its work took time. */
function fakeClock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

/** A runner that takes `ms[i]` on its i-th call (the last value afterwards) and returns its call number. */
function runner(clock: ReturnType<typeof fakeClock>, ms: number[]) {
  let calls = 0;
  const run = async () => {
    clock.advance(ms[Math.min(calls, ms.length - 1)]);
    return ++calls;
  };
  return { run, calls: () => calls };
}

describe('measure', () => {
  it('reports warm-up apart and averages the timed runs until minMs has passed', async () => {
    const clock = fakeClock();
    const r = runner(clock, [500, 10, 10, 10, 10, 10]);
    const t = await measure(r.run, { warmup: 1, minMs: 25, maxIters: 100, now: clock.now });
    assert.equal(t.warmupMs, 500);
    assert.equal(t.iterations, 3, 'runs of 10 ms until 25 ms have passed: 3');
    assert.equal(t.meanMs, 10);
    assert.equal(t.first, 1, 'the first result is the warm-up run');
    assert.equal(r.calls(), 4);
  });

  it('stops at maxIters, and runs once when minMs is 0', async () => {
    const clock = fakeClock();
    const many = await measure(runner(clock, [1]).run, { warmup: 0, minMs: 1e9, maxIters: 7, now: clock.now });
    assert.equal(many.iterations, 7);
    assert.equal(many.warmupMs, 0);
    const once = await measure(runner(clock, [40, 20]).run, { warmup: 1, minMs: 0, maxIters: 50, now: clock.now });
    assert.equal(once.iterations, 1);
    assert.equal(once.meanMs, 20);
  });

  it('refuses maxIters below 1 and a negative warm-up', async () => {
    await assert.rejects(measure(async () => 0, { minMs: 0, maxIters: 0 }), /maxIters must be at least 1/);
    await assert.rejects(measure(async () => 0, { warmup: -1, minMs: 0, maxIters: 1 }), /warmup must be a non-negative integer/);
  });
});

describe('chooseBackend', () => {
  it('onnxruntime when it is faster by more than the tie margin', () => {
    const c = chooseBackend(100, { ms: 60 });
    assert.equal(c.backend, 'onnxruntime');
    assert.match(c.reason, /onnxruntime-web is faster \(60\.0 ms against 100 ms\)/);
  });

  it('the engine when it is faster', () => {
    const c = chooseBackend(50, { ms: 80 });
    assert.equal(c.backend, 'engine');
    assert.match(c.reason, /the engine is faster/);
  });

  it('a tie keeps the engine: equal times, or onnxruntime faster by less than the margin', () => {
    assert.equal(chooseBackend(100, { ms: 100 }).backend, 'engine');
    const close = chooseBackend(100, { ms: 100 * (1 - TIE_MARGIN / 2) });
    assert.equal(close.backend, 'engine');
    assert.match(close.reason, /a tie within 5%/);
    assert.equal(chooseBackend(100, { ms: 100 * (1 - TIE_MARGIN) - 0.01 }).backend, 'onnxruntime', 'just past the margin');
    assert.equal(chooseBackend(100, { ms: 90 }, null, 0.2).backend, 'engine', 'a wider margin');
  });

  it('a failure, a different result or a timing that is not a number keeps the engine', () => {
    const failed = chooseBackend(100, { error: 'no available backend found' });
    assert.equal(failed.backend, 'engine');
    assert.equal(failed.reason, 'onnxruntime-web could not run: no available backend found');
    const differs = chooseBackend(100, { ms: 1 }, 'token 2: 5 against 6');
    assert.equal(differs.backend, 'engine');
    assert.match(differs.reason, /differed from the engine's \(token 2: 5 against 6\)/);
    assert.equal(chooseBackend(Number.NaN, { ms: 1 }).backend, 'engine');
    assert.equal(chooseBackend(100, { ms: Number.NaN }).backend, 'engine');
  });
});

describe('compareBackends', () => {
  it('times both on the same work after a warm-up each and picks the faster', async () => {
    const clock = fakeClock();
    const engine = runner(clock, [300, 50]);
    const ort = runner(clock, [900, 20]);
    const c = await compareBackends(engine.run, ort.run, { warmup: 1, minMs: 100, maxIters: 10, now: clock.now });
    assert.equal(c.engine.meanMs, 50);
    assert.equal(c.engine.iterations, 2);
    assert.equal(c.engine.warmupMs, 300);
    assert.ok(c.ort.ok);
    assert.equal(c.ort.timing.meanMs, 20);
    assert.equal(c.ort.timing.iterations, 5);
    assert.equal(c.ort.timing.warmupMs, 900, "onnxruntime's slow first run is not counted");
    assert.equal(c.choice.backend, 'onnxruntime');
    assert.equal(c.mismatch, null);
  });

  it('keeps the engine when onnxruntime did not start, without running it', async () => {
    const clock = fakeClock();
    const engine = runner(clock, [10]);
    const c = await compareBackends(engine.run, new Error('WebGPU is not supported in current environment'), { minMs: 0, maxIters: 1, now: clock.now });
    assert.deepEqual(c.ort, { ok: false, error: 'WebGPU is not supported in current environment' });
    assert.equal(c.choice.backend, 'engine');
    assert.match(c.choice.reason, /could not run: WebGPU is not supported/);
  });

  it('an error while onnxruntime runs counts as its failure; the engine\'s own error propagates', async () => {
    const clock = fakeClock();
    const c = await compareBackends(runner(clock, [10]).run, async () => { throw new Error('device lost'); }, { minMs: 0, maxIters: 1, now: clock.now });
    assert.equal(c.choice.backend, 'engine');
    assert.match(c.choice.reason, /device lost/);
    await assert.rejects(compareBackends(async () => { throw new Error('engine broke'); }, runner(clock, [1]).run, { minMs: 0, maxIters: 1, now: clock.now }), /engine broke/);
  });

  it('a faster onnxruntime with a different first result keeps the engine', async () => {
    const clock = fakeClock();
    const c = await compareBackends(async () => { clock.advance(50); return [1, 2, 3]; }, async () => { clock.advance(5); return [1, 2, 4]; }, {
      minMs: 0, maxIters: 1, now: clock.now,
      differ: (a, b) => (a.join() === b.join() ? null : `${a} against ${b}`),
    });
    assert.equal(c.mismatch, '1,2,3 against 1,2,4');
    assert.equal(c.choice.backend, 'engine');
  });
});
