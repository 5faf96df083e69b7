// f32 values to the bits of IEEE half (F16) or bfloat16 (BF16), rounding to nearest even: how the engine keeps a
// checkpoint's half-precision weights in half precision on the GPU (values widened from those formats come back exactly).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The F16 bits of `x` (round to nearest even; overflow to infinity, NaN kept quiet). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const man = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man !== 0 ? 0x200 | (man >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand right, rounding to nearest even.
    if (e < -10) return sign;
    const full = man | 0x800000;
    const shift = 14 - e;
    const half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    const up = rest > midpoint || (rest === midpoint && (half & 1) === 1);
    return sign | (half + (up ? 1 : 0));
  }
  const half = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  const up = rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1);
  // A carry out of the significand steps the exponent, up to infinity: still the right bits.
  return sign | (half + (up ? 1 : 0));
}

/** The BF16 bits of `x` (round to nearest even; NaN kept quiet). */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return (bits >>> 16) | 0x40;
  const rounding = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + rounding) >>> 16) & 0xffff;
}

export type HalfDtype = 'F16' | 'BF16';

/** `data` as packed half-precision bits, padded with a zero to an even count (GPU buffers are 4-byte words). */
export function packHalf(data: Float32Array, dtype: HalfDtype): Uint16Array {
  const out = new Uint16Array(data.length + (data.length % 2));
  const convert = dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < data.length; i++) out[i] = convert(data[i]);
  return out;
}
