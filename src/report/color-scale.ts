// Colours of the results view and the report: a perceptual sequential scale for scores (0..100), readable text on it, and method colours.

/** A colour as linear-light sRGB channels in [0, 1]. */
type Rgb = [number, number, number];
/** A colour in OKLab: lightness L in [0, 1], then the a and b opponent axes. */
type Lab = [number, number, number];

/** Anchors of the score scale, low to high, each lighter than the one before (a viridis-like ramp). */
export const SCORE_STOPS: readonly string[] = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

/** Colour used for a score that is not a finite number. */
export const NO_SCORE_COLOR = '#808080';

/** Dark and light text colours that `contrastText` chooses between. */
export const DARK_TEXT = '#111827';
export const LIGHT_TEXT = '#ffffff';

/** Parses `#rrggbb` (or `#rgb`) into 8-bit channels; throws on anything else. */
export function parseHex(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) throw new Error(`not a #rrggbb colour: ${JSON.stringify(hex)}`);
  const h = m[1].length === 3 ? m[1].replace(/./g, (c) => c + c) : m[1];
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

/** Formats 8-bit channels (rounded and clamped) as `#rrggbb`. */
export function toHex(r: number, g: number, b: number): string {
  const c = (v: number) => Math.min(255, Math.max(0, Math.round(v))).toString(16).padStart(2, '0');
  return `#${c(r)}${c(g)}${c(b)}`;
}

const toLinear = (c8: number): number => {
  const c = c8 / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};

const fromLinear = (c: number): number => {
  const v = c <= 0.0031308 ? 12.92 * c : 1.055 * Math.max(c, 0) ** (1 / 2.4) - 0.055;
  return v * 255;
};

function linearToOklab([r, g, b]: Rgb): Lab {
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

function oklabToLinear([L, a, b]: Lab): Rgb {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
    -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
    -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
  ];
}

/** The OKLab coordinates of a `#rrggbb` colour. */
export function hexToOklab(hex: string): Lab {
  const [r, g, b] = parseHex(hex);
  return linearToOklab([toLinear(r), toLinear(g), toLinear(b)]);
}

/** The `#rrggbb` colour of OKLab coordinates (clamped into sRGB). */
export function oklabToHex(lab: Lab): string {
  const [r, g, b] = oklabToLinear(lab);
  return toHex(fromLinear(r), fromLinear(g), fromLinear(b));
}

/** Perceptual lightness (OKLab L, 0 = black, 1 = white) of a `#rrggbb` colour. */
export function lightness(hex: string): number {
  return hexToOklab(hex)[0];
}

const STOP_LAB: Lab[] = SCORE_STOPS.map(hexToOklab);

/**
 * The scale's colour for `score` on [min, max] (default 0..100): interpolated in OKLab between the
 * SCORE_STOPS, so equal score steps look like equal colour steps and lightness rises with the score.
 * Scores outside the range are clamped; a non-finite score gets NO_SCORE_COLOR.
 */
export function scoreColor(score: number, min = 0, max = 100): string {
  if (!Number.isFinite(score)) return NO_SCORE_COLOR;
  const span = max - min;
  const f = span > 0 ? Math.min(1, Math.max(0, (score - min) / span)) : 0;
  const pos = f * (STOP_LAB.length - 1);
  const i = Math.min(STOP_LAB.length - 2, Math.floor(pos));
  const u = pos - i;
  if (u === 0) return SCORE_STOPS[i];
  if (i === STOP_LAB.length - 2 && u === 1) return SCORE_STOPS[i + 1];
  const a = STOP_LAB[i];
  const b = STOP_LAB[i + 1];
  return oklabToHex([a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u]);
}

/** A CSS `linear-gradient` of the score scale from 0 (left) to 100 (right), for a colour key. */
export function scoreGradientCss(steps = 10): string {
  const parts: string[] = [];
  for (let i = 0; i <= steps; i++) parts.push(`${scoreColor((100 * i) / steps)} ${((100 * i) / steps).toFixed(0)}%`);
  return `linear-gradient(to right, ${parts.join(', ')})`;
}

/** WCAG relative luminance of a `#rrggbb` colour. */
export function relativeLuminance(hex: string): number {
  const [r, g, b] = parseHex(hex).map(toLinear);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two colours (1..21). */
export function contrastRatio(a: string, b: string): number {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** DARK_TEXT or LIGHT_TEXT, whichever contrasts more with the background `bg`. */
export function contrastText(bg: string): string {
  return contrastRatio(bg, DARK_TEXT) >= contrastRatio(bg, LIGHT_TEXT) ? DARK_TEXT : LIGHT_TEXT;
}

/**
 * Categorical colours for methods and blocks, one per method of a full run: mid-tones with at least
 * 3:1 contrast on both themes' surfaces (WCAG's figure for graphics), every pair at least 0.15
 * apart in OKLab, so no two methods look alike; the strongest hues come first.
 */
export const METHOD_PALETTE: readonly string[] = [
  '#2b5be8', '#d41101', '#227702', '#e1791b', '#af25a9', '#1899ec',
  '#fc4fa2', '#889d37', '#c56aff', '#316f82', '#90601f', '#9c879d',
];

/** The colour of the i-th method (or block), cycling through METHOD_PALETTE. */
export function paletteColor(i: number): string {
  const n = METHOD_PALETTE.length;
  return METHOD_PALETTE[((i % n) + n) % n];
}
