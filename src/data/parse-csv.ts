// Incremental parser for .csv and .tsv task files with a header row, built on papaparse's chunk parser.
import Papa from 'papaparse';
import { FormatError } from '../io/errors.ts';
import type { ByteSource } from './byte-source.ts';
import { ExampleCollector, planFields, type ColumnMap, type FieldPlan, type KeepFilter, type ParseResult } from './records.ts';
import { countNewlines, readTextChunks, type ProgressCallback } from './text-stream.ts';

/** A record still open after this many characters is refused: it is almost surely an unclosed quote. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

interface PapaError {
  code?: string;
  message?: string;
  index?: number;
}

interface PapaStep {
  /** The one row this step is about, wrapped in a list. */
  data: string[][];
  errors: PapaError[];
  meta: { cursor: number };
}

/** The line ending a file uses, from its first text: papaparse's chunk parser needs it up front. */
function detectNewline(text: string): '\n' | '\r\n' | '\r' {
  const lf = text.indexOf('\n');
  if (lf > 0 && text[lf - 1] === '\r') return '\r\n';
  if (lf === -1 && text.includes('\r')) return '\r';
  return '\n';
}

/**
 * Refuses a header that names a column twice (case and surrounding spaces ignored, as columns are matched):
 * which of the two holds the data would be a guess. Blank names are left alone (unnamed index columns).
 */
function checkHeader(row: readonly string[], file: string, line: number): void {
  const seen = new Map<string, number>();
  row.forEach((name, at) => {
    const key = name.trim().toLowerCase();
    if (key === '') return;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new FormatError(file, `the header names column "${name.trim()}" twice (columns ${first + 1} and ${at + 1})`, {
        line,
        detail: 'rename or remove one of them',
      });
    }
    seen.set(key, at);
  });
}

/**
 * Parses a CSV (comma, RFC 4180 quoting) or TSV (tab, no quoting: quotes are ordinary characters, as in GLUE's
 * files) file whose first row names the columns. Text is decoded chunk by chunk and handed to papaparse's
 * `Papa.Parser` the way its own chunked streamers do it: each call parses the unfinished record left over from the
 * last chunk plus the new text, skips the final, possibly partial, record and carries it on. Only that remainder
 * and the current chunk are held. Empty lines are skipped; every row must have as many fields as the header.
 */
export async function parseDelimitedFile(
  source: ByteSource,
  delimiter: ',' | '\t',
  columns: ColumnMap | undefined,
  onProgress?: ProgressCallback,
  keep?: KeepFilter,
): Promise<ParseResult> {
  const file = source.name;
  const collector = new ExampleCollector(file, columns, keep);
  let header: string[] | null = null;
  let plan: FieldPlan<number> | null = null;

  // State of the chunk loop, read by the per-row callback.
  let text = ''; // carried remainder + the new chunk
  let base = 0; // absolute character offset of text[0]
  let consumed = 0; // absolute offset just past the last complete row
  let line = 1; // line of the row starting at `consumed`
  let lineBreak: '\n' | '\r' = '\n'; // the character counted as a line break: '\r' in a CR-only file

  const rowError = (e: PapaError, rowLine: number, rowStart: number): FormatError => {
    const at = typeof e.index === 'number' ? Math.max(0, e.index) : rowStart - base;
    const errLine = rowLine + countNewlines(text, rowStart - base, Math.min(at, text.length), lineBreak);
    return new FormatError(file, 'malformed CSV', { line: errLine, detail: e.message ?? e.code });
  };

  const onRow = (step: PapaStep) => {
    const rowStart = consumed;
    const rowLine = line;
    const end = step.meta.cursor;
    line += countNewlines(text, rowStart - base, end - base, lineBreak);
    consumed = end;
    if (step.errors.length > 0) throw rowError(step.errors[0], rowLine, rowStart);
    const row = step.data[0];
    if (row.length === 1 && row[0].trim() === '') return; // empty line
    if (header === null) {
      checkHeader(row, file, rowLine);
      header = row;
      plan = planFields(row, columns, 'column', file, rowLine);
      return;
    }
    if (row.length !== header.length) {
      throw new FormatError(file, `row has ${row.length} field${row.length === 1 ? '' : 's'}, the header has ${header.length}`, { line: rowLine });
    }
    collector.addRow(row, plan!, rowLine, header);
  };

  let parser: Papa.Parser | null = null;
  const makeParser = (newline: '\n' | '\r\n' | '\r') =>
    new Papa.Parser({
      delimiter,
      newline,
      quoteChar: '"',
      // TSV has no quoting: fast mode splits on tabs and newlines only.
      fastMode: delimiter === '\t',
      step: onRow as unknown as Papa.ParseConfig['step'],
    });
  const parse = (last: boolean) => {
    const result = parser!.parse(text, base, !last) as { errors: PapaError[]; meta: { cursor: number } };
    // Errors of a row are reported with the row; what is left here belongs to the unfinished last row.
    if (last && result.errors.length > 0) throw rowError(result.errors[0], line, consumed);
    text = text.slice(consumed - base);
    base = consumed;
    if (text.length > MAX_RECORD_CHARS) {
      throw new FormatError(file, 'malformed CSV', { line, detail: `a record runs past ${MAX_RECORD_CHARS} characters; is a quote left open?` });
    }
  };

  // Text before the first line break, held as pieces: searching only each new piece keeps a long first line linear.
  let before: string[] = [];
  let beforeLength = 0;
  let lastChar = '';
  for await (const piece of readTextChunks(source, onProgress)) {
    if (parser === null) {
      // Wait for a line ending (or the end of the file) before choosing the newline sequence; a final '\r' may be
      // the first half of '\r\n'.
      const found = /\n|\r(?!$)/.test(lastChar + piece);
      before.push(piece);
      beforeLength += piece.length;
      lastChar = piece[piece.length - 1];
      if (!found) {
        if (beforeLength > MAX_RECORD_CHARS) throw new FormatError(file, 'malformed CSV', { line: 1, detail: `no line break in the first ${MAX_RECORD_CHARS} characters` });
        continue;
      }
      text = before.join('');
      before = [];
      const newline = detectNewline(text);
      if (newline === '\r') lineBreak = '\r';
      parser = makeParser(newline);
    } else {
      text += piece;
    }
    parse(false);
  }
  if (parser === null) {
    text = before.join('');
    if (text.trim() === '') throw new FormatError(file, 'no examples in the file', { detail: 'the file is empty' });
    parser = makeParser('\n');
  }
  if (text.length > 0) parse(true);
  if (header === null) throw new FormatError(file, 'no examples in the file', { detail: 'the file is empty' });
  return collector.finish(null);
}
