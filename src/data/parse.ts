// Reads one task file (JSONL, JSON, CSV or TSV) into examples, incrementally, failing whole with a FormatError naming file and line.
import { FormatError } from '../io/errors.ts';
import { describe } from '../io/value-preview.ts';
import { extensionOf, type ByteSource } from './byte-source.ts';
import { parseDelimitedFile } from './parse-csv.ts';
import { parseJsonFile } from './parse-json.ts';
import { ExampleCollector, type ColumnMap, type KeepFilter, type ParseResult } from './records.ts';
import { forEachLine, type ProgressCallback } from './text-stream.ts';

export type { ChosenFields, ColumnMap, KeepFilter, ParseResult } from './records.ts';
export type { ProgressCallback } from './text-stream.ts';

export type DataFormat = 'jsonl' | 'json' | 'csv' | 'tsv';

export const SUPPORTED_EXTENSIONS: readonly DataFormat[] = ['jsonl', 'json', 'csv', 'tsv'];

export interface ParseOptions {
  /** Field or column names to use instead of the automatic choice (matched case-insensitively). */
  columns?: ColumnMap;
  /** Called after each chunk read with the bytes read so far and the file size when known. */
  onProgress?: ProgressCallback;
  /** Overrides the format the extension implies. */
  format?: DataFormat;
  /** Holds only these records (by index in file order); the rest are still read and checked (see ParseResult.indices). */
  keep?: KeepFilter;
  /**
   * A second read of a file whose `earlier` result came from reading and checking all of it: only the records
   * `wanted` are held, and a JSON Lines file parses only those (its other non-blank lines are counted unread).
   * Other formats are parsed whole, as with `keep`.
   */
  recheck?: { earlier: ParseResult; wanted: (index: number) => boolean };
}

/** The format a file name's extension implies; throws FormatError for anything else. */
export function formatOf(name: string): DataFormat {
  const ext = extensionOf(name);
  if ((SUPPORTED_EXTENSIONS as readonly string[]).includes(ext)) return ext as DataFormat;
  throw new FormatError(name, `unsupported extension ${ext ? `".${ext}"` : '(none)'}`, {
    detail: `expected one of ${SUPPORTED_EXTENSIONS.map((e) => '.' + e).join(', ')}`,
  });
}

/** What to do about a line of a .jsonl file that is not JSON, guessing from what the line looks like. */
function jsonlHint(text: string, line: number, unterminated: boolean): string {
  const t = text.trim();
  if (unterminated && line > 1 && t.startsWith('{')) return 'the last line ends without closing its record: is the file cut short?';
  if (line === 1 && t.startsWith('[')) return 'the file looks like a JSON array: name it .json, or write one object per line';
  if (t === '{' || (t.startsWith('{') && !t.endsWith('}'))) return 'a .jsonl file holds one whole JSON object per line; a record spread over several lines belongs in a .json array';
  if (line === 1 && !t.startsWith('{') && /[,\t]/.test(t)) return 'the file looks like CSV or TSV: name it .csv or .tsv';
  return 'each line of a .jsonl file must be one JSON object, such as {"input": "...", "output": "..."}';
}

/** JSON Lines: one record per line; blank lines are skipped. */
async function parseJsonlFile(source: ByteSource, columns: ColumnMap | undefined, onProgress?: ProgressCallback, keep?: KeepFilter,
  recheck?: ParseOptions['recheck']): Promise<ParseResult> {
  const file = source.name;
  const collector = recheck ? new ExampleCollector(file, columns, (i) => recheck.wanted(i), recheck.earlier) : new ExampleCollector(file, columns, keep);
  await forEachLine(
    source,
    (text, line, unterminated) => {
      if (text.trim() === '') return;
      // Every other line of a checked file is one record: one not wanted is counted without being parsed.
      if (recheck && !recheck.wanted(collector.count)) {
        collector.skip();
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        // JSON.parse is iterative in V8 today; should an engine run out of stack, say so rather than "malformed".
        if (e instanceof RangeError) throw new FormatError(file, 'a JSON value nested too deeply to read', { line, detail: 'a record is an object of text fields', cause: e });
        throw new FormatError(file, 'malformed JSON line', { line, detail: `${e instanceof Error ? e.message : String(e)}; ${jsonlHint(text, line, unterminated === true)}`, cause: e });
      }
      if (Array.isArray(value)) {
        throw new FormatError(file, 'record is not a JSON object', {
          line,
          detail: `got ${describe(value)}; a .jsonl file holds one object per line${line === 1 ? ' (for one JSON array of records, name the file .json)' : ''}`,
        });
      }
      collector.addObject(value, line);
    },
    onProgress,
  );
  return collector.finish(null);
}

/**
 * Parses one file into examples and the file's own instruction (or null). Supported: `.jsonl` (one object per
 * line), `.json` (an array of objects, or `{"Definition": [...], "Instances": [...]}`), `.csv` and `.tsv` with a
 * header row. Records may be `{input, output}`, `{instruction, input, output}` or `{text, label}` (and the other
 * names in records.ts); a "split" field or column (train/test/dev) is returned in `splits`.
 * Either everything is returned or a FormatError `file:line: problem` is thrown.
 */
export async function parseTaskFile(source: ByteSource, opts: ParseOptions = {}): Promise<ParseResult> {
  const format = opts.format ?? formatOf(source.name);
  const recheck = opts.recheck;
  const keep = recheck ? (i: number) => recheck.wanted(i) : opts.keep;
  switch (format) {
    case 'jsonl':
      return parseJsonlFile(source, opts.columns, opts.onProgress, opts.keep, recheck);
    case 'json':
      return parseJsonFile(source, opts.columns, opts.onProgress, keep);
    case 'csv':
      return parseDelimitedFile(source, ',', opts.columns, opts.onProgress, keep);
    case 'tsv':
      return parseDelimitedFile(source, '\t', opts.columns, opts.onProgress, keep);
    default:
      throw new FormatError(source.name, `unsupported format ${JSON.stringify(format)}`);
  }
}
