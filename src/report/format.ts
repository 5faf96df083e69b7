// Number, byte and duration formatting shared by the app, the reports and the storage errors.

/** 1536 -> "1.5 KiB"; powers of two as in GPU limits. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 && v % 1 !== 0 ? 1 : 0)} ${units[i]}`;
}

/** 1234567 -> "1.23 M". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toPrecision(3)} B`;
  if (abs >= 1e6) return `${(n / 1e6).toPrecision(3)} M`;
  if (abs >= 1e4) return `${(n / 1e3).toPrecision(3)} k`;
  return n.toLocaleString('en-US');
}

/** Plain integer with thousands separators. */
export function formatInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

/** 83456 -> "1:23.5"; below a minute -> "23.5 s". */
export function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, '0')}`;
}

/** Milliseconds with a precision that suits the size. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A loss or similar value, 4 significant digits. */
export function formatLoss(x: number | null | undefined): string {
  if (x === null || x === undefined) return '–';
  return Number.isFinite(x) ? x.toPrecision(4) : String(x);
}
