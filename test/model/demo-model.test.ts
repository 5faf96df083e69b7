// The bundled pretrained demo model (public/models/demo, written by scripts/demo-model/pretrain.py):
// its tokenizer.json encodes exactly as the script's encoder did during pretraining, the engine's
// logits match the script's float64 PyTorch reference (relative error <= 1e-4), and it is small
// enough to ship and was really trained.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/context.ts';
import { readJson } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { loadTokenizer } from '../../src/model/tokenizer.ts';
import { packSequences } from '../../src/engine/batch.ts';
import { Session } from '../../src/engine/session.ts';
import { bundledModelDir } from '../../src/cli/bundled-model.ts';
import { assertRelError } from '../helpers/assert.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';

interface Fixture {
  samples: { text: string; ids: number[] }[];
  ids: number[];
  logits: number[][];
  logitsPositions: number[];
}

const MODEL_DIR = join(import.meta.dirname, '..', '..', 'public', 'models', 'demo');
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'demo-model.json'), 'utf8')) as Fixture;

describe('bundled demo model', () => {
  let gpu: Gpu;
  before(async () => {
    gpu = await testGpu();
  });
  after(releaseTestGpu);

  it('is the folder the CLI uses when no model is named', () => {
    assert.equal(bundledModelDir(), MODEL_DIR);
  });

  it('fits the 25 MB budget and is a Llama with tied embeddings', async () => {
    const bytes = readdirSync(MODEL_DIR).reduce((sum, name) => sum + statSync(join(MODEL_DIR, name)).size, 0);
    assert.ok(bytes <= 25e6, `${bytes} bytes`);
    const cfg = parseModelConfig(await readJson(dirSource(MODEL_DIR), 'config.json'));
    assert.equal(cfg.arch, 'llama');
    assert.equal(cfg.tieWordEmbeddings, true);
    assert.ok(cfg.numKvHeads < cfg.numHeads, 'grouped-query attention');
  });

  it('was pretrained: validation loss fell well below its random start (ln 4096 = 8.3 nats)', () => {
    const training = JSON.parse(readFileSync(join(MODEL_DIR, 'training.json'), 'utf8')) as { validationLoss: { step: number; loss: number }[] };
    const first = training.validationLoss[0];
    const last = training.validationLoss[training.validationLoss.length - 1];
    assert.equal(first.step, 0);
    assert.ok(first.loss > 8, `random start ${first.loss}`);
    assert.ok(last.loss < 0.65 * first.loss, `validation loss ${first.loss} -> ${last.loss}`);
  });

  it('tokenizer.json encodes every sample exactly as the pretraining script did, and decodes back', async () => {
    const tok = (await loadTokenizer(dirSource(MODEL_DIR)))!;
    assert.equal(tok.eosId, 0);
    for (const { text, ids } of fixture.samples) {
      assert.deepEqual(tok.encode(text, { addSpecialTokens: false }), ids, JSON.stringify(text));
      assert.equal(tok.decode(ids), text);
    }
  });

  it('engine logits match the float64 PyTorch reference (relative error <= 1e-4)', async () => {
    const s = await Session.open(gpu, dirSource(MODEL_DIR), { baseOnly: true });
    try {
      const [logits] = await s.forward(packSequences([fixture.ids]));
      const V = s.config.vocabSize;
      const ours = fixture.logitsPositions.flatMap((t) => Array.from(logits.subarray(t * V, (t + 1) * V)));
      assertRelError(ours, fixture.logits.flat(), 1e-4, 'demo model logits');
    } finally {
      s.destroy();
    }
  });
});
