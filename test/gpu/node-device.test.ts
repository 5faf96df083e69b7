// Which Vulkan driver createNodeGpu tries (src/gpu/node-device.ts): CLORA_ADAPTER's list of sources, and where
// lavapipe's ICD file is looked for. The drivers themselves are exercised by every GPU suite: the main pass runs on
// "gpu,swiftshader", npm run test:lavapipe on "lavapipe".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapterSources, lavapipeIcd, NO_VULKAN_LOADER, vulkanLoaderMissing } from '../../src/gpu/node-device.ts';

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

describe('the Vulkan loader', () => {
  it('is missing on Linux when libvulkan.so.1 is in no library folder nor LD_LIBRARY_PATH; the error says to install libvulkan1', () => {
    const only = (path: string) => (p: string) => p === path;
    assert.equal(vulkanLoaderMissing('linux', '', () => false), true);
    assert.equal(vulkanLoaderMissing('linux', '', only('/usr/lib/x86_64-linux-gnu/libvulkan.so.1')), false);
    assert.equal(vulkanLoaderMissing('linux', '/opt/vk/lib:/x', only('/opt/vk/lib/libvulkan.so.1')), false);
    assert.equal(vulkanLoaderMissing('darwin', '', () => false), false, 'other systems load drivers their own way');
    assert.match(NO_VULKAN_LOADER, /libvulkan\.so\.1 is missing\. Install libvulkan1 \(Debian\/Ubuntu: apt-get install libvulkan1\)/);
    // This machine has it (the GPU suites run on it).
    assert.equal(vulkanLoaderMissing(), false);
  });
});
