// Shared plumbing of the `clora` subcommands that read files without a GPU: their arguments (with --json and --help), and JSON files read with one-line errors that start with the file name.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
