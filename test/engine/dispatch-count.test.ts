// What a forward pass launches: with the LoRA update fused into each projection's matmul, an adapted projection adds
// one dispatch (u = x · Aᵀ) to the base model's, and the adapted projections of a fused group (q/k/v, gate/up: one
// matmul, gpu-weights.ts) one for the group, for one block and for a mixture of several alike.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Session } from '../../src/engine/session.ts';
import type { Gpu } from '../../src/gpu/context.ts';
import { dirSource } from '../../src/io/node-files.ts';
import type { LoraConfig } from '../../src/model/peft.ts';
import { releaseTestGpu, testGpu } from '../helpers/gpu.ts';

const MODEL = dirSource(join(import.meta.dirname, '..', '..', 'public', 'models', 'tiny-random'));
const LORA: LoraConfig = { rank: 4, alpha: 8, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], useRslora: false, layers: null };

let gpu: Gpu;
let session: Session;
before(async () => {
  gpu = await testGpu();
  session = await Session.open(gpu, MODEL, { baseOnly: true });
});
after(async () => {
  session?.destroy();
  await releaseTestGpu();
});

describe('dispatches per forward pass', () => {
  it('one more per adapted projection or fused group than the base model, whatever the number of blocks', async () => {
    const base = session.dispatchCount('forward', 2, 16);
    // tiny-random fuses q/k/v and gate/up: per layer a base forward of input norm, qkv, 2 rope, attention, o (with the
    // residual add), post norm, gate/up, activation, down (with the residual add), and every group or lone adapted
    // projection adds one dispatch: all seven targets make four (qkv, o, gate/up, down); q and v one, v and down two.
    const L = session.config.numLayers;
    assert.equal(base, 2 + L * 10 + 1, 'embedding, 10 per layer, final norm and head');
    for (const [targets, extra] of [[LORA.targets, 4], [['q_proj', 'v_proj'], 1], [['v_proj', 'down_proj'], 2]] as const) {
      for (const blocks of [1, 3]) {
        const bank = await session.createBank({ lora: { ...LORA, targets: [...targets] }, blocks, router: null, head: null });
        session.useBank(bank);
        try {
          assert.equal(session.dispatchCount('forward', 2, 16), base + L * extra, `${targets} with ${blocks} block(s)`);
        } finally {
          session.useBank(null);
          bank.destroy();
        }
      }
    }
  });
});
