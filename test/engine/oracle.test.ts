// The whole model against PyTorch (scripts/oracle/make_fixtures.py): logits with and without the
// adapter, the loss, every LoRA gradient, and the losses of ten AdamW steps with gradient clipping.
// Tolerances (relative error = max|ours - ref| / max|ref| per tensor): logits 1e-4, loss 1e-4,
// gradients 1e-3, step losses 1e-3. Each fixture also runs under a 2 KiB binding limit (Gpu.bindingLimit), where the
// embedding and the LM head are stored and computed in vocabulary slices and the loss in chunks of a few rows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/context.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { packSequences } from '../../src/engine/batch.ts';
import { Session } from '../../src/engine/session.ts';
import { assertRelError, relError } from '../helpers/assert.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';

interface Expected {
  description: string;
  ids: number[][];
  labels: number[][];
  logits_base: number[][][];
  logits: number[][][];
  loss: number;
  grads: Record<string, number[]>;
  train: { lr: number; betas: [number, number]; eps: number; weight_decay: number; max_grad_norm: number; steps: number; losses: number[]; grad_norms: number[] };
}

const NEW_ARCHITECTURES = ['qwen3-qknorm', 'gemma3-sliding', 'smollm3-nope'];
const FIXTURES = ['llama-gqa', 'qwen2-mqa-tied', 'llama3-f16', ...NEW_ARCHITECTURES];
const root = join(import.meta.dirname, '..', 'fixtures', 'oracle');

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(releaseTestGpu);

for (const name of FIXTURES) {
  describe(`oracle ${name}`, () => {
    const dir = join(root, name);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
    const batch = packSequences(expected.ids, expected.labels);
    const model = dirSource(join(dir, 'model'));
    const adapter = dirSource(join(dir, 'adapter'));

    it('base-model logits', async () => {
      const s = await Session.open(gpu, model, { baseOnly: true });
      try {
        const logits = await s.forward(batch);
        for (let b = 0; b < batch.batchSize; b++) assertRelError(logits[b], expected.logits_base[b].flat(), 1e-4, `base logits[${b}]`);
      } finally {
        s.destroy();
      }
    });

    if (name === 'llama3-f16') {
      it('adapter logits with the F16 projections kept in F16 on the GPU', async () => {
        const s = await Session.open(gpu, model, { adapter, halfWeights: true });
        try {
          const logits = await s.forward(batch);
          for (let b = 0; b < batch.batchSize; b++) assertRelError(logits[b], expected.logits[b].flat(), 1e-4, `logits[${b}]`);
        } finally {
          s.destroy();
        }
      });
    }

    it('adapter logits, loss and LoRA gradients', async () => {
      const s = await Session.open(gpu, model, { adapter });
      try {
        const logits = await s.forward(batch);
        for (let b = 0; b < batch.batchSize; b++) assertRelError(logits[b], expected.logits[b].flat(), 1e-4, `logits[${b}]`);
        const { loss, grads } = await s.gradients(batch);
        assertRelError([loss], [expected.loss], 1e-4, 'loss');
        assert.deepEqual([...grads.keys()].sort(), Object.keys(expected.grads).sort(), 'gradient keys');
        let worst = 0;
        for (const [key, g] of grads) {
          assertRelError(g.data, expected.grads[key], 1e-3, `grad ${key}`);
          worst = Math.max(worst, relError(g.data, expected.grads[key]));
        }
        assert.ok(worst < 1e-3);
      } finally {
        s.destroy();
      }
    });

    it('under a 2 KiB binding limit: base and adapter logits, loss, LoRA gradients and three steps', async () => {
      gpu.bindingLimit = 2048;
      const t = expected.train;
      try {
        const s = await Session.open(gpu, model, {
          adapter,
          train: { lr: t.lr, beta1: t.betas[0], beta2: t.betas[1], eps: t.eps, weightDecay: t.weight_decay, maxGradNorm: t.max_grad_norm },
        });
        const base = await Session.open(gpu, model, { baseOnly: true });
        try {
          assert.ok(s.info.vocabSlices > 1, `the embedding is in ${s.info.vocabSlices} slice(s)`);
          const baseLogits = await base.forward(batch);
          for (let b = 0; b < batch.batchSize; b++) assertRelError(baseLogits[b], expected.logits_base[b].flat(), 1e-4, `base logits[${b}]`);
          const logits = await s.forward(batch);
          for (let b = 0; b < batch.batchSize; b++) assertRelError(logits[b], expected.logits[b].flat(), 1e-4, `logits[${b}]`);
          const { loss, grads } = await s.gradients(batch);
          assertRelError([loss], [expected.loss], 1e-4, 'loss');
          for (const [key, g] of grads) assertRelError(g.data, expected.grads[key], 1e-3, `grad ${key}`);
          const losses: number[] = [];
          for (let i = 0; i < 3; i++) losses.push(await s.trainStep(batch));
          assertRelError(losses, t.losses.slice(0, 3), 1e-3, 'step losses');
        } finally {
          s.destroy();
          base.destroy();
        }
      } finally {
        gpu.bindingLimit = null;
      }
    });
    if (NEW_ARCHITECTURES.includes(name)) {
      // The KV-cache decode plan (its own q/k norms, per-layer RoPE, windowed decode attention, sandwich norms) against
      // the training plan's forward: each greedy token is the argmax of the full forward over the sequence so far.
      // Gemma's generation runs past its window of 3, so the decode reads only the window's cache slots.
      it('greedy decoding with the KV cache picks the full forward pass\'s argmax at every step', async () => {
        const s = await Session.open(gpu, model, { adapter });
        try {
          const prompts = expected.ids.map((row) => row.slice(0, 4));
          const got = await s.generate(prompts, { maxNewTokens: 6, stopIds: [] });
          for (const [b, prompt] of prompts.entries()) {
            const seq = [...prompt];
            for (let step = 0; step < 6; step++) {
              const [logits] = await s.forward(packSequences([seq], [seq]));
              const V = logits.length / seq.length;
              const last = logits.subarray((seq.length - 1) * V);
              seq.push(last.indexOf(Math.max(...last)));
            }
            assert.deepEqual(got[b], seq.slice(prompt.length), `prompt ${b}`);
          }
        } finally {
          s.destroy();
        }
      });
    }

    it('ten AdamW steps with global-norm clipping', async () => {
      const t = expected.train;
      const s = await Session.open(gpu, model, {
        adapter,
        train: { lr: t.lr, beta1: t.betas[0], beta2: t.betas[1], eps: t.eps, weightDecay: t.weight_decay, maxGradNorm: t.max_grad_norm },
      });
      try {
        const losses: number[] = [];
        for (let i = 0; i < t.steps; i++) losses.push(await s.trainStep(batch));
        assertRelError(losses, t.losses, 1e-3, 'step losses');
        for (let i = 0; i < t.steps; i++) {
          assert.ok(Math.abs(losses[i] - t.losses[i]) <= 1e-3 * Math.abs(t.losses[i]), `step ${i}: loss ${losses[i]} vs ${t.losses[i]}`);
        }
      } finally {
        s.destroy();
      }
    });
  });
}
