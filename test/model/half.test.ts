// f32 to F16 / BF16 bits (src/model/half.ts): every half value survives widening (the safetensors loader's) and
// narrowing unchanged, and values between halves round to nearest even, with overflow, underflow and NaN.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { f32ToBf16Bits, f32ToF16Bits, packHalf } from '../../src/model/half.ts';
import { toFloat32 } from '../../src/model/safetensors.ts';

/** All 65536 bit patterns of a half format widened by the loader. */
function widenAll(dtype: 'F16' | 'BF16'): Float32Array {
  const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
  return toFloat32({ file: 'all', name: 'all', dtype, shape: [65536], bytes: new Uint8Array(bits.buffer) });
}

describe('half-precision bits', () => {
  for (const [dtype, convert] of [['F16', f32ToF16Bits], ['BF16', f32ToBf16Bits]] as const) {
    it(`${dtype}: every value widened and narrowed again keeps its bits (NaNs stay NaN)`, () => {
      const widened = widenAll(dtype);
      for (let h = 0; h < 65536; h++) {
        const back = convert(widened[h]);
        if (Number.isNaN(widened[h])) assert.ok(Number.isNaN(widened[back]), `${dtype} NaN ${h.toString(16)}`);
        else assert.equal(back, h, `${dtype} ${h.toString(16)} (${widened[h]})`);
      }
    });
  }

  it('F16 rounds to nearest even, overflows to infinity and underflows to zero', () => {
    assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00, 'a tie goes to the even 1.0');
    assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02, 'a tie goes to the even 1 + 2^-9');
    assert.equal(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01, 'above the tie rounds up');
    assert.equal(f32ToF16Bits(65520), 0x7c00, 'rounds past the largest half to infinity');
    assert.equal(f32ToF16Bits(65504), 0x7bff);
    assert.equal(f32ToF16Bits(2 ** -24), 0x0001, 'the smallest subnormal');
    assert.equal(f32ToF16Bits(2 ** -25), 0x0000, 'half of it ties to even zero');
    assert.equal(f32ToF16Bits(1.5 * 2 ** -24), 0x0002, 'a subnormal tie rounds to even');
    assert.equal(f32ToF16Bits(-0), 0x8000);
    assert.equal(f32ToF16Bits(-Infinity), 0xfc00);
  });

  it('BF16 rounds to nearest even; packHalf pads to an even count', () => {
    assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80, 'a tie goes to the even 1.0');
    assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
    assert.equal(f32ToBf16Bits(3.4028234663852886e38), 0x7f80, 'the largest f32 rounds to infinity');
    assert.deepEqual(Array.from(packHalf(Float32Array.of(1, -2, 0.5), 'BF16')), [0x3f80, 0xc000, 0x3f00, 0]);
    assert.deepEqual(Array.from(packHalf(Float32Array.of(1, -2), 'F16')), [0x3c00, 0xc000]);
  });
});
