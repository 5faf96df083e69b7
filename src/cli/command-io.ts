// Shared plumbing of the `clora` subcommands that read files without a GPU: their arguments (with --json and --help), and JSON files read with one-line errors that start with the file name.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { firstInvalidUtf8 } from '../data/text-stream.ts';
import { FormatError } from '../io/errors.ts';
import { parseJson } from '../io/files.ts';
import { nonUtf8Encoding, NOT_UTF8_ADVICE, SNIFF_BYTES } from '../io/text-encoding.ts';

const COMMON = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses a subcommand's arguments (those after its name): its own `options` plus `--json` (accepted,
 * JSON being the only output) and `-h`/`--help`. Returns null when help was asked for.
 */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  const parsed = parseArgs({ args: negativeValues(argv, options), allowPositionals: true, options: { ...options, ...COMMON } });
  return (parsed.values as { help?: boolean }).help ? null : parsed;
}

/**
 * The arguments with every value that starts with a minus and a digit joined to its option (`--labels -100,5` becomes
 * `--labels=-100,5`): parseArgs would otherwise take "-100,5" for an option and call the value ambiguous. Only options
 * that take a string are joined.
 */
export function negativeValues(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const long = a.startsWith('--') ? a.slice(2) : null;
    const short = !long && /^-[A-Za-z]$/.test(a) ? Object.keys(options).find((k) => options[k].short === a.slice(1)) : undefined;
    const name = long ?? short;
    const next = argv[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${long !== null ? a : `--${name}`}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** The parsed contents of `file`; a missing, unreadable or invalid file throws an Error whose message starts with `file`. */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new Error(`${file}: no such file`);
    if (code === 'EISDIR') throw new Error(`${file}: is a folder, expected a JSON file`);
    throw new Error(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new Error(`${file}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The parsed contents of the JSON file `file`, as `readJson` reads it but with the line of a problem. Errors start
 * with `label` (default: `file`) and say what to do: a missing path and a folder are refused with `usage` (a usage
 * error) when given; a UTF-8 byte-order mark is dropped; UTF-16 or UTF-32 text, bytes that are not UTF-8 and
 * invalid JSON are FormatErrors.
 */
export function readJsonFile(file: string, label = file, usage?: (message: string) => Error): unknown {
  const refuse = (message: string): never => {
    throw usage ? usage(message) : new Error(message);
  };
  let bytes: Uint8Array;
  try {
    if (statSync(file).isDirectory()) {
      const inside = readdirSync(file).filter((n) => n.toLowerCase().endsWith('.json')).sort();
      const shown = inside.length > 0 ? ` (it holds ${inside.slice(0, 5).join(', ')}${inside.length > 5 ? ', ...' : ''})` : '';
      refuse(`${label}: is a folder, not a JSON file; pass the JSON file itself${shown}`);
    }
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return refuse(`${label}: no such file`);
    if (code === undefined) throw err;
    throw new Error(`${label}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const encoding = nonUtf8Encoding(bytes.subarray(0, SNIFF_BYTES), true);
  if (encoding) throw new FormatError(label, 'not UTF-8 text', { line: 1, detail: encoding });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); // drops a byte-order mark
  } catch (err) {
    const at = firstInvalidUtf8(bytes);
    const line = at < 0 ? undefined : bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
    throw new FormatError(label, 'invalid UTF-8', { line, detail: `byte offset ${Math.max(at, 0)}; ${NOT_UTF8_ADVICE}`, cause: err });
  }
  if (text.trim() === '' || text.trim() === '\ufeff') throw new FormatError(label, 'the file is empty', { detail: 'expected a JSON object' });
  return parseJson(text, label);
}
