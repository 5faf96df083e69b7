// Reads one task file (JSONL, JSON, CSV or TSV) into examples, incrementally, failing whole with a FormatError naming file and line.
import { FormatError } from '../io/errors.ts';
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
}

/** The format a file name's extension implies; throws FormatError for anything else. */
export function formatOf(name: string): DataFormat {
  const ext = extensionOf(name);
  if ((SUPPORTED_EXTENSIONS as readonly string[]).includes(ext)) return ext as DataFormat;
  throw new FormatError(name, `unsupported extension ${ext ? `".${ext}"` : '(none)'}`, {
    detail: `expected one of ${SUPPORTED_EXTENSIONS.map((e) => '.' + e).join(', ')}`,
  });
}

/** JSON Lines: one record per line; blank lines are skipped. */
async function parseJsonlFile(source: ByteSource, columns: ColumnMap | undefined, onProgress?: ProgressCallback, keep?: KeepFilter): Promise<ParseResult> {
  const file = source.name;
  const collector = new ExampleCollector(file, columns, keep);
  await forEachLine(
    source,
    (text, line) => {
      if (text.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        // JSON.parse is iterative in V8 today; should an engine run out of stack, say so rather than "malformed".
        if (e instanceof RangeError) throw new FormatError(file, 'a JSON value nested too deeply to read', { line, detail: 'a record is an object of text fields', cause: e });
        throw new FormatError(file, 'malformed JSON line', { line, detail: e instanceof Error ? e.message : String(e), cause: e });
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
  switch (format) {
    case 'jsonl':
      return parseJsonlFile(source, opts.columns, opts.onProgress, opts.keep);
    case 'json':
      return parseJsonFile(source, opts.columns, opts.onProgress, opts.keep);
    case 'csv':
      return parseDelimitedFile(source, ',', opts.columns, opts.onProgress, opts.keep);
    case 'tsv':
      return parseDelimitedFile(source, '\t', opts.columns, opts.onProgress, opts.keep);
    default:
      throw new FormatError(source.name, `unsupported format ${JSON.stringify(format)}`);
  }
}
