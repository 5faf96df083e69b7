// Checks that the bundled tiny model is current with its generator script and loads through every model module.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJson } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { loadTokenizer } from '../../src/model/tokenizer.ts';
import { expectedWeightShapes, loadWeights } from '../../src/model/weights.ts';
import { buildTinyModel, TINY_MODEL_DIR } from '../../scripts/make-tiny-model.ts';

test('public/models/tiny-random matches scripts/make-tiny-model.ts byte for byte', () => {
  const built = buildTinyModel();
  assert.deepEqual(Object.keys(built).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  for (const [name, content] of Object.entries(built)) {
    const onDisk = readFileSync(join(TINY_MODEL_DIR, name));
    const want = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    assert.ok(onDisk.equals(want), `${name} is stale; run node --import tsx scripts/make-tiny-model.ts`);
  }
});

test('tiny model loads: config, weights, tokenizer', async () => {
  const src = dirSource(TINY_MODEL_DIR);
  const cfg = parseModelConfig(await readJson(src, 'config.json'));
  assert.equal(cfg.arch, 'llama');
  assert.equal(cfg.hiddenSize, 64);
  assert.equal(cfg.intermediateSize, 160);
  assert.equal(cfg.numLayers, 2);
  assert.equal(cfg.numHeads, 4);
  assert.equal(cfg.numKvHeads, 2);
  assert.equal(cfg.headDim, 16);
  assert.equal(cfg.tieWordEmbeddings, true);
  assert.equal(cfg.ropeTheta, 10000);
  assert.equal(cfg.rmsNormEps, 1e-5);
  assert.equal(cfg.maxPositionEmbeddings, 512);

  const weights = await loadWeights(src, cfg);
  assert.deepEqual([...weights.keys()], [...expectedWeightShapes(cfg).keys()]);
  const embed = weights.get('model.embed_tokens.weight')!;
  let sq = 0;
  for (const v of embed.data) sq += v * v;
  const std = Math.sqrt(sq / embed.data.length);
  assert.ok(std > 0.08 && std < 0.12, `embedding std ${std}`);

  const tok = (await loadTokenizer(src))!;
  assert.equal(tok.vocabSize, cfg.vocabSize);
  assert.equal(tok.bosId, cfg.bosTokenId);
  assert.equal(tok.eosId, cfg.eosTokenId);
  const text = 'Once upon a time, the model said: "hello" — and 42 tokens later… ✓';
  assert.equal(tok.decode(tok.encode(text)), text);
});
