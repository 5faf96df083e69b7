// Short renderings of parsed JSON values for error messages, safe on any input (deep nesting, huge strings).

/** Deepest nesting shown; deeper lists and objects appear as `[…]` and `{…}`. */
const SHOWN_DEPTH = 3;

/**
 * The value as JSON, cut to about `max` characters with "…". Unlike JSON.stringify it never recurses past
 * SHOWN_DEPTH levels, so a value nested 100,000 deep (which JSON.parse accepts) cannot overflow the stack, and it
 * stops walking once `max` characters are written, so a huge list costs nothing. `undefined` reads "nothing".
 */
export function preview(value: unknown, max = 80): string {
  if (value === undefined) return 'nothing';
  let out = '';
  const full = () => out.length > max;
  const walk = (v: unknown, depth: number): void => {
    if (full()) return;
    if (v === null || typeof v === 'boolean' || typeof v === 'number') {
      out += String(v);
    } else if (typeof v === 'string') {
      out += JSON.stringify(v.length > max ? v.slice(0, max + 1) : v);
    } else if (Array.isArray(v)) {
      if (depth >= SHOWN_DEPTH) {
        out += v.length === 0 ? '[]' : '[…]';
        return;
      }
      out += '[';
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) out += ', ';
        walk(v[i], depth + 1);
      }
      out += ']';
    } else if (typeof v === 'object') {
      const keys = Object.keys(v as object);
      if (depth >= SHOWN_DEPTH) {
        out += keys.length === 0 ? '{}' : '{…}';
        return;
      }
      out += '{';
      for (let i = 0; i < keys.length && !full(); i++) {
        if (i > 0) out += ', ';
        out += `${JSON.stringify(keys[i])}: `;
        walk((v as Record<string, unknown>)[keys[i]], depth + 1);
      }
      out += '}';
    } else {
      out += String(v);
    }
  };
  walk(value, 0);
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/** What kind of JSON value `value` is, with its article: "a string", "a list", "an object", "null". */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'an integer' : 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return `a ${typeof value}`;
  }
}

/** `preview` followed by the kind in brackets where the rendering alone may not say it: `"5" (a string)`. */
export function describe(value: unknown, max = 80): string {
  if (value === undefined || value === null) return preview(value, max);
  return `${preview(value, max)} (${kindOf(value)})`;
}
