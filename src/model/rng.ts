// Seedable xoshiro128** generator so initialisation and shuffling are reproducible across browser and Node.

export interface Rng {
  /** Next raw 32-bit output as an unsigned integer. */
  nextU32(): number;
  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** The four state words, to resume the stream with `rngFromState` (a pending second normal() value is not kept). */
  state(): [number, number, number, number];
}

/** splitmix32 spreads a small seed over the 128-bit state, as xoshiro's authors recommend for seeding. */
function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export function rngFromState(state: readonly number[]): Rng {
  if (state.length !== 4 || state.every((w) => (w | 0) === 0)) {
    throw new Error('rng state must be four 32-bit words, not all zero');
  }
  let [s0, s1, s2, s3] = state.map((w) => w | 0);
  let spare: number | null = null;
  const nextU32 = () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const uniform = () => ((nextU32() >>> 5) * 67108864 + (nextU32() >>> 6)) / 9007199254740992;
  return {
    nextU32,
    uniform,
    normal() {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      // 1 - u keeps the log argument in (0, 1].
      const r = Math.sqrt(-2 * Math.log(1 - uniform()));
      const theta = 2 * Math.PI * uniform();
      spare = r * Math.sin(theta);
      return r * Math.cos(theta);
    },
    state: () => [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0],
  };
}

export function createRng(seed: number): Rng {
  const sm = splitmix32(seed);
  return rngFromState([sm(), sm(), sm(), sm()]);
}

/** Fisher-Yates shuffle of `items` (an array or a typed array) in place, drawing from `rng`; returns `items`. */
export function shuffleInPlace<A extends { length: number; [i: number]: unknown }>(items: A, rng: Rng): A {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}

/** A shuffled copy of `items` (the same draws as `shuffleInPlace`). */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  return shuffleInPlace(items.slice(), rng);
}
