// f32 values to the bits of IEEE half (F16) or bfloat16 (BF16), rounding to nearest even: how the engine keeps a
// checkpoint's half-precision weights in half precision on the GPU (values widened from those formats come back exactly);
// and F16 bits back to f32, by a table of all 65536 values.

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

let f16Table: Uint32Array | null = null;

/** f32 bit patterns for all 65536 half values; a lookup beats per-element branching on multi-GB checkpoints. */
export function halfTable(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let man = h & 0x3ff;
    let bits: number;
    if (exp === 0x1f) {
      bits = sign | 0x7f800000 | (man << 13);
    } else if (exp !== 0) {
      bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man === 0) {
      bits = sign;
    } else {
      // Subnormal half: renormalise so the f32 (which has the range) stores it as a normal number, exactly.
      let e = 1;
      while ((man & 0x400) === 0) {
        man <<= 1;
        e--;
      }
      bits = sign | ((e + 112) << 23) | ((man & 0x3ff) << 13);
    }
    t[h] = bits >>> 0;
  }
  f16Table = t;
  return t;
}

/** The value of an F16 bit pattern (exact: every half value is an f32 value). */
export function f16BitsToNumber(bits: number): number {
  u32[0] = halfTable()[bits & 0xffff];
  return f32[0];
}

export type HalfDtype = 'F16' | 'BF16';

/** `data` as packed half-precision bits, padded with a zero to an even count (GPU buffers are 4-byte words). */
export function packHalf(data: Float32Array, dtype: HalfDtype): Uint16Array {
  const out = new Uint16Array(data.length + (data.length % 2));
  const convert = dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < data.length; i++) out[i] = convert(data[i]);
  return out;
}

/** Packed halves' bytes as 32-bit words for upload, padded with a zero half when they hold an odd number of halves. */
export function halfWords(bytes: Uint8Array): Uint32Array {
  if (bytes.byteLength % 4 === 0 && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  return new Uint32Array(padded.buffer);
}
