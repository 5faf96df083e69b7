// Central finite differences in f64 and small vector helpers shared by the reference-backward tests.

/** Step of the central differences: accurate to ~1e-9 for the smooth f64 losses these tests use. */
export const FD_STEP = 1e-5;

/** d loss / d x by central differences, one coordinate at a time (x is restored). */
export function numericGrad(x: Float64Array, loss: (x: Float64Array) => number, h = FD_STEP): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + h;
    const up = loss(x);
    x[i] = keep - h;
    const down = loss(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

export const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);
