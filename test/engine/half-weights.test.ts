// Half-precision checkpoints on the GPU: a model saved as F16 or BF16 keeps its projection weights in that precision
// (half the bytes of f32) and gives the same logits, loss and LoRA gradients as when those same values are held as f32
// (Session's halfWeights: false): both read identical weight values, so the tolerance is tight, relative error
// <= 1e-6. The F16 PyTorch fixture (test/engine/oracle.test.ts) checks the half path against PyTorch.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packSequences } from '../../src/engine/batch.ts';
import { Session } from '../../src/engine/session.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { memorySource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { writeSafetensors } from '../../src/model/safetensors.ts';
import { assertRelError } from '../helpers/assert.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'oracle', 'llama-gqa');
const TOLERANCE = 1e-6;

let gpu: Gpu;
before(async () => {
  gpu = await testGpu();
});
after(releaseTestGpu);

/** The fixture's model re-saved with every tensor in `dtype`. */
async function resaved(dtype: 'F16' | 'BF16') {
  const src = dirSource(join(FIXTURE, 'model'));
  const configText = readFileSync(join(FIXTURE, 'model', 'config.json'), 'utf8');
  const weights = await loadWeights(src, parseModelConfig(JSON.parse(configText)));
  return memorySource({ 'config.json': configText, 'model.safetensors': writeSafetensors(weights, undefined, { float32As: dtype }) }, `llama-gqa as ${dtype}`);
}

describe('half-precision checkpoints', () => {
  const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as { ids: number[][]; labels: number[][] };
  const batch = packSequences(expected.ids, expected.labels);
  const adapter = dirSource(join(FIXTURE, 'adapter'));

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`${dtype}: projections in half the bytes; logits, loss and gradients as with the same values in f32`, async () => {
      const model = await resaved(dtype);
      const half = await Session.open(gpu, model, { adapter, halfWeights: true });
      const wide = await Session.open(gpu, model, { adapter, halfWeights: false });
      try {
        const cfg = half.config;
        const projParams = cfg.numLayers * (cfg.hiddenSize * (2 * cfg.numHeads * cfg.headDim + 2 * cfg.numKvHeads * cfg.headDim) + 3 * cfg.hiddenSize * cfg.intermediateSize);
        // The embedding and an untied LM head stay packed too (vocab-table.ts).
        const tableParams = cfg.vocabSize * cfg.hiddenSize * (cfg.tieWordEmbeddings ? 1 : 2);
        assert.equal(wide.info.weightBytes - half.info.weightBytes, (projParams + tableParams) * 2, 'each projection, embedding and LM head weight takes 2 bytes instead of 4');
        const [a, b] = [await half.forward(batch), await wide.forward(batch)];
        for (let r = 0; r < batch.batchSize; r++) assertRelError(a[r], b[r], TOLERANCE, `logits[${r}]`);
        const [ga, gb] = [await half.gradients(batch), await wide.gradients(batch)];
        assertRelError([ga.loss], [gb.loss], TOLERANCE, 'loss');
        for (const [key, g] of gb.grads) assertRelError(ga.grads.get(key)!.data, g.data, TOLERANCE, key);
      } finally {
        half.destroy();
        wide.destroy();
      }
    });
  }
});
