// Streaming parser for .json task files: a top-level array of records or a benchmark object with "Definition" and "Instances".
import { Tokenizer, TokenParser, TokenType } from '@streamparser/json';
import { FormatError } from '../io/errors.ts';
import type { ByteSource } from './byte-source.ts';
import { ExampleCollector, type ColumnMap, type KeepFilter, type ParseResult } from './records.ts';
import { readChunks, Utf8ChunkDecoder, type ProgressCallback } from './text-stream.ts';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Turns byte offsets of the stream fed to the tokenizer into 1-based lines, for the chunk being written. */
class LineIndex {
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart = 0;
  private chunkLine = 1;
  private scanAt = 0;
  private scanLine = 1;

  /** The byte lines end at: '\n' (also ending '\r\n'), or '\r' in a file whose lines end at a lone '\r'. */
  private lineBreak = NEWLINE;

  /** Moves on to the next chunk, which starts at stream offset `start` on line `line`; `crOnly` as the decoder found. */
  next(chunk: Uint8Array, start: number, line: number, crOnly: boolean): void {
    this.lineBreak = crOnly ? CARRIAGE_RETURN : NEWLINE;
    this.chunk = chunk;
    this.chunkStart = start;
    this.chunkLine = line;
    this.scanAt = 0;
    this.scanLine = line;
  }

  /** The line of a byte in the current chunk (earlier bytes are placed at the chunk's first line). */
  lineAt(offset: number): number {
    const rel = offset - this.chunkStart;
    if (rel <= 0) return this.chunkLine;
    if (rel < this.scanAt) {
      this.scanAt = 0;
      this.scanLine = this.chunkLine;
    }
    const end = Math.min(rel, this.chunk.length);
    for (let nl = this.chunk.indexOf(this.lineBreak, this.scanAt); nl !== -1 && nl < end; nl = this.chunk.indexOf(this.lineBreak, nl + 1)) {
      this.scanLine++;
      this.scanAt = nl + 1;
    }
    return this.scanLine;
  }
}

/**
 * A tokenizer error in the user's terms: @streamparser/json's messages name its internal state and chunk offsets
 * ('Unexpected "x" at chunk position "27" (absolute position "27") in state START'); the line is given apart.
 */
function tokenizerProblem(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/in state ENDED/.test(message)) {
    return 'more than one JSON value: a .json file is one array of records [{...}, {...}]; for one object per line, name the file .jsonl';
  }
  const plain = message.replace(/ at chunk position "\d+" \(absolute position "\d+"\)/, '').replace(/ in state [A-Z_]+$/, '');
  return `${plain}; a .json file is one array of records [{"input": "...", "output": "..."}, ...]`;
}

function definitionText(value: unknown, file: string, line: number): string {
  const parts = Array.isArray(value) ? value : [value];
  if (!parts.every((p) => typeof p === 'string')) throw new FormatError(file, '"Definition" must be a string or a list of strings', { line });
  return (parts as string[]).map((p) => p.trim()).filter((p) => p !== '').join(' ');
}

/**
 * Parses a .json file without holding its text: bytes go through @streamparser/json's tokenizer, and each record
 * is handed over as soon as its closing brace arrives, with the line its opening brace is on. Records already
 * emitted are dropped from the parser's stack (`keepStack: false`), so memory holds only the examples.
 */
export async function parseJsonFile(source: ByteSource, columns: ColumnMap | undefined, onProgress?: ProgressCallback, keep?: KeepFilter): Promise<ParseResult> {
  const file = source.name;
  const collector = new ExampleCollector(file, columns, keep);
  const decoder = new Utf8ChunkDecoder(file);
  const lines = new LineIndex();
  const tokenizer = new Tokenizer();

  let root: 'array' | 'object' | null = null;
  let parser: TokenParser | null = null;
  let depth = 0;
  let recordLine = 1;
  let lastToken = 0;
  let definition: string | null = null;
  let sawInstances = false;

  const onValue = ({ value, key, stack }: { value?: unknown; key?: string | number; stack: readonly unknown[] }) => {
    if (root === 'array') {
      collector.addObject(value, value !== null && typeof value === 'object' ? recordLine : lines.lineAt(lastToken));
    } else if (stack.length === 1 && key === 'Definition') {
      definition = definitionText(value, file, lines.lineAt(lastToken));
    } else {
      if (typeof key !== 'number') throw new FormatError(file, '"Instances" must be an array of records', { line: lines.lineAt(lastToken) });
      sawInstances = true;
      collector.addObject(value, value !== null && typeof value === 'object' ? recordLine : lines.lineAt(lastToken));
    }
  };

  // The first token says whether records sit at the top level or under "Instances"; the token parser is made then,
  // with paths that never select an ancestor of the records (that would make it keep them all).
  tokenizer.onToken = (info) => {
    const { token, offset } = info;
    lastToken = offset;
    if (parser === null) {
      if (token === TokenType.LEFT_BRACKET) root = 'array';
      else if (token === TokenType.LEFT_BRACE) root = 'object';
      else throw new FormatError(file, 'expected a JSON array of records or an object with "Instances"', { line: lines.lineAt(offset) });
      parser = new TokenParser({ paths: root === 'array' ? ['$.*'] : ['$.Definition', '$.Instances.*'], keepStack: false });
      parser.onValue = onValue as TokenParser['onValue'];
    }
    if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) {
      if (token === TokenType.LEFT_BRACE && depth === (root === 'array' ? 1 : 2)) recordLine = lines.lineAt(offset);
      depth++;
    } else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) {
      depth--;
    }
    parser.write(info);
  };

  const fail = (e: unknown, line: number): never => {
    if (e instanceof FormatError) throw e;
    throw new FormatError(file, 'malformed JSON', { line, detail: tokenizerProblem(e), cause: e });
  };

  // The tokenizer skips a leading byte-order mark itself and counts it in its offsets, as LineIndex does.
  let fed = 0;
  for await (const chunk of readChunks(source, onProgress)) {
    const lineAtStart = decoder.line;
    decoder.decode(chunk); // validates UTF-8 and counts lines; the tokenizer decodes strings itself
    lines.next(chunk, fed, lineAtStart, decoder.crOnly);
    try {
      tokenizer.write(chunk);
    } catch (e) {
      const pos = /chunk position "(\d+)"/.exec(e instanceof Error ? e.message : '');
      fail(e, lines.lineAt(pos ? fed + Number(pos[1]) : lastToken));
    }
    fed += chunk.length;
  }
  decoder.end();
  if (root === null) throw new FormatError(file, 'no examples in the file', { detail: 'the file is empty' });
  try {
    tokenizer.end();
    const p = parser as TokenParser | null;
    if (p !== null && !p.isEnded) p.end();
  } catch (e) {
    fail(e, decoder.line);
  }
  if (root === 'object' && !sawInstances) {
    throw new FormatError(file, 'no examples in the file', {
      detail: 'expected an "Instances" array of records; a .json file is an array of records [{...}, {...}] or {"Definition": "...", "Instances": [...]}',
    });
  }
  return collector.finish(definition);
}
