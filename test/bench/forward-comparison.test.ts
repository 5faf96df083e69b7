// The bench comparison's pure parts with fakes (no GPU): the relative error between two logit arrays, and the choice
// of onnxruntime backend, WebGPU when a probe model runs on it, else wasm with the reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pickOrtBackend, relativeError } from '../../bench/forward-comparison.ts';
import type { LogitsSession, OrtDecoderFactory } from '../../src/ort/ort-decoder.ts';

function factory(backend: string, fail: { open?: string; run?: string } = {}) {
  const calls = { opened: 0, ran: 0, released: 0 };
  const session: LogitsSession = {
    async logits(_ids, batch, seq) {
      calls.ran++;
      if (fail.run) throw new Error(fail.run);
      return { data: new Float32Array(batch * seq * 2), vocab: 2 };
    },
    async release() {
      calls.released++;
    },
  };
  const f: OrtDecoderFactory = {
    backend,
    async open() {
      calls.opened++;
      if (fail.open) throw new Error(fail.open);
      return session;
    },
  };
  return { f, calls };
}

describe('bench comparison helpers', () => {
  it('relativeError is max |a - b| over max |a|, and refuses different lengths', () => {
    assert.equal(relativeError([2, -4, 1], [2, -3, 1]), 0.25);
    assert.equal(relativeError([0, 0], [0, 0]), 0);
    assert.throws(() => relativeError([1], [1, 2]), /cannot compare 1 values with 2/);
  });

  it('WebGPU is kept when the probe model opens and runs on it', async () => {
    const gpu = factory('webgpu');
    const wasm = factory('wasm');
    const picked = await pickOrtBackend(async () => gpu.f, async () => wasm.f, new Uint8Array(4));
    assert.equal(picked.factory.backend, 'webgpu');
    assert.equal(picked.fallback, null);
    assert.deepEqual(gpu.calls, { opened: 1, ran: 1, released: 1 });
    assert.equal(wasm.calls.opened, 0);
  });

  for (const [what, make] of [
    ['does not load', () => Promise.reject(new Error('WebGPU is not supported in current environment'))],
    ['cannot open the probe', async () => factory('webgpu', { open: 'no available backend found' }).f],
    ['fails to run the probe', async () => factory('webgpu', { run: 'Invalid argument' }).f],
  ] as const) {
    it(`wasm, with the reason, when WebGPU ${what}`, async () => {
      const wasm = factory('wasm');
      const picked = await pickOrtBackend(make, async () => wasm.f, new Uint8Array(4));
      assert.equal(picked.factory.backend, 'wasm');
      assert.match(picked.fallback!, /^onnxruntime-web's WebGPU backend could not run here \((WebGPU is not supported|no available backend found|Invalid argument)/);
    });
  }
});
