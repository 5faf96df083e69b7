// Which Vulkan driver createNodeGpu tries (src/gpu/node-device.ts): CLORA_ADAPTER's list of sources, and where
// lavapipe's ICD file is looked for. The drivers themselves are exercised by every GPU suite: the main pass runs on
// "gpu,swiftshader", npm run test:lavapipe on "lavapipe".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapterSources, lavapipeIcd } from '../../src/gpu/node-device.ts';

describe('adapter sources', () => {
  it('"auto" or an empty value tries the GPU, then lavapipe, then SwiftShader', () => {
    assert.deepEqual(adapterSources(''), ['gpu', 'lavapipe', 'swiftshader']);
    assert.deepEqual(adapterSources('auto'), ['gpu', 'lavapipe', 'swiftshader']);
  });

  it('a list is tried in its own order', () => {
    assert.deepEqual(adapterSources('gpu,swiftshader'), ['gpu', 'swiftshader']);
    assert.deepEqual(adapterSources(' lavapipe , gpu '), ['lavapipe', 'gpu']);
  });

  it('an unknown name is an error that lists the valid ones', () => {
    assert.throws(() => adapterSources('gpu,cuda'), /CLORA_ADAPTER=gpu,cuda: expected "auto" or a comma-separated list of gpu, lavapipe, swiftshader/);
    assert.throws(() => adapterSources(','), /expected "auto"/);
  });

  it('CLORA_LAVAPIPE_ICD names lavapipe\'s ICD file, and a missing one counts as none', () => {
    const saved = process.env.CLORA_LAVAPIPE_ICD;
    try {
      const file = join(mkdtempSync(join(tmpdir(), 'clora-icd-')), 'lvp_icd.json');
      writeFileSync(file, '{}');
      process.env.CLORA_LAVAPIPE_ICD = file;
      assert.equal(lavapipeIcd(), file);
      process.env.CLORA_LAVAPIPE_ICD = `${file}.missing`;
      assert.equal(lavapipeIcd(), null);
    } finally {
      if (saved === undefined) delete process.env.CLORA_LAVAPIPE_ICD;
      else process.env.CLORA_LAVAPIPE_ICD = saved;
    }
  });
});
