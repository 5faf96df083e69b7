// Maps parsed records (JSON objects, CSV rows) to examples: field names, value checks, per-record instructions and splits.
import { FormatError } from '../io/errors.ts';
import { describe, kindOf, preview } from '../io/value-preview.ts';
import type { Example, SplitName } from './task.ts';

/** Field or column names chosen by the caller; each overrides the automatic choice for its role. */
export interface ColumnMap {
  input?: string;
  output?: string;
  instruction?: string;
}

/** The field or column names a file's first record was read through, as spelled in the file. */
export interface ChosenFields {
  input: string;
  output: string;
  instruction: string | null;
  split: string | null;
}

/** What a parser returns for one file. `splits` is parallel to `examples` when the file has a "split" field. */
export interface ParseResult {
  examples: Example[];
  /** The file's own instruction (a benchmark "Definition", or one instruction shared by every record), else null. */
  instruction: string | null;
  splits: SplitName[] | null;
  /** The names chosen for the first record (later JSON records with other keys may use others); null when unknown. */
  fields?: ChosenFields | null;
  /** Records in the file (`examples.length` unless a `keep` filter left some out). */
  total?: number;
  /** With a `keep` filter: the record index (0-based, file order) of each example kept. */
  indices?: number[];
  /** Whether per-record instructions were prepended to the inputs (they differ, or a file-level instruction exists). */
  prepended?: boolean;
}

/**
 * Which records a parse keeps, asked of every record once it is checked, with its 0-based index in file order and
 * its example (the input before a per-record instruction is prepended); the records not kept are dropped.
 */
export type KeepFilter = (index: number, record: Example) => boolean;

/** Names looked for, in this order of preference, compared case-insensitively. */
export const INPUT_NAMES = ['input', 'text', 'sentence', 'question', 'content', 'review'] as const;
export const OUTPUT_NAMES = ['output', 'label', 'answer', 'category', 'class', 'target'] as const;
export const INSTRUCTION_NAMES = ['instruction'] as const;
export const SPLIT_NAMES = ['split'] as const;

const SPLIT_VALUES: Record<string, SplitName> = { train: 'train', test: 'test', dev: 'dev', validation: 'dev' };

/** Where each role's value lives in a record: a key of a JSON object or a column index of a CSV row. */
export interface FieldPlan<K> {
  input: K;
  output: K;
  instruction: K | null;
  split: K | null;
}

type Kind = 'field' | 'column';

function describeNames(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}

/**
 * Chooses which of `names` (a record's keys or a header row) holds each role. Throws FormatError naming the
 * available names when the input or output cannot be found.
 */
export function planFields(names: readonly string[], columns: ColumnMap | undefined, kind: Kind, file: string, line: number): FieldPlan<number> {
  const lower = names.map((n) => n.trim().toLowerCase());
  // Names are matched case-insensitively, so two that differ only in case would leave the choice to their order.
  const unique = (at: number, role: string): number => {
    const again = lower.indexOf(lower[at], at + 1);
    if (again >= 0) {
      throw new FormatError(file, `${kind}s "${names[at]}" and "${names[again]}" both match the ${role}`, { line, detail: `keep one of them` });
    }
    return at;
  };
  const find = (role: 'input' | 'output' | 'instruction', candidates: readonly string[], required: boolean): number | null => {
    const wanted: unknown = columns?.[role];
    if (wanted !== undefined) {
      if (typeof wanted !== 'string' || wanted.trim() === '') {
        throw new Error(`columns.${role} must be a ${kind} name (a non-empty string), got ${preview(wanted)}`);
      }
      const at = lower.indexOf(wanted.trim().toLowerCase());
      if (at < 0) {
        throw new FormatError(file, `missing ${kind} "${wanted}" given for the ${role}`, {
          line,
          detail: `available ${kind}s: ${describeNames(names)}`,
        });
      }
      return unique(at, role);
    }
    for (const c of candidates) {
      const at = lower.indexOf(c);
      if (at >= 0) return unique(at, role);
    }
    if (!required) return null;
    throw new FormatError(file, `missing ${role} ${kind}: expected one of ${candidates.join(', ')}`, {
      line,
      detail: `available ${kind}s: ${describeNames(names)}`,
    });
  };
  const input = find('input', INPUT_NAMES, true)!;
  const output = find('output', OUTPUT_NAMES, true)!;
  if (input === output) {
    throw new FormatError(file, `the same ${kind} "${names[input]}" was chosen for the input and the output`, { line });
  }
  const instruction = find('instruction', INSTRUCTION_NAMES, false);
  const splitAt = lower.indexOf(SPLIT_NAMES[0]);
  return { input, output, instruction, split: splitAt >= 0 ? splitAt : null };
}

/**
 * Text of a field: a string, number or boolean as written; a list gives its first element (benchmark outputs are
 * lists of accepted answers), which must itself be one of those. Nothing deeper is unwrapped, so the depth of what
 * is read is bounded whatever the file holds.
 */
function textOf(value: unknown, role: string, file: string, line: number): string | null {
  let v = value;
  if (Array.isArray(v)) {
    if (v.length === 0) return null;
    v = v[0];
    if (v !== null && typeof v === 'object') {
      throw new FormatError(file, `${role} is a list whose first element is ${kindOf(v)}, not text`, {
        line,
        detail: `got ${preview(value)}; give text, or a list of texts (the first one is used)`,
      });
    }
  }
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new FormatError(file, `${role} is not text`, { line, detail: `got ${preview(value)}; give text, or a list of texts (the first one is used)` });
}

/**
 * Accumulates examples from records in file order and applies the whole-file rules at the end: one instruction
 * shared by every record becomes the task instruction, differing ones are prepended to their inputs.
 */
export class ExampleCollector {
  private readonly examples: Example[] = [];
  /** Per-record instruction, parallel to `examples` (null where a record has none). */
  private readonly instructions: (string | null)[] = [];
  /** Record index of each kept example, when a keep filter is given. */
  private readonly indices: number[] = [];
  /** Records read, kept or not. */
  private total = 0;
  /** The first record's instruction, and whether every record so far had the same: the shared-instruction rule needs only these. */
  private firstInstruction: string | null = null;
  private sameInstruction = true;
  private anyInstruction = false;
  /** First line whose input was empty but whose record carried an instruction (valid only if instructions get prepended). */
  private emptyInputLine: number | null = null;
  private splits: SplitName[] | null = null;
  private splitMode: boolean | null = null;
  private lastKeys = '';
  private lastPlan: FieldPlan<string> | null = null;
  private firstFields: ChosenFields | null = null;

  /** `keep`: the records to hold (all when absent); the others are read, checked and counted, then dropped. */
  /**
   * `earlier`: this file's result from a pass that read and checked every record; its instruction rule is applied
   * here, so that records this pass skips unread (`skip`) still count toward it.
   */
  constructor(
    readonly file: string,
    private readonly columns: ColumnMap | undefined,
    private readonly keep?: KeepFilter,
    private readonly earlier?: ParseResult,
  ) {}

  /** Counts a record left unread: only with `earlier`, which read and checked it. */
  skip(): void {
    if (this.earlier === undefined) throw new Error('only a second pass over a checked file may skip records');
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /** Adds a JSON record; keys are matched case-insensitively, and the choice is cached while records keep the same keys. */
  addObject(value: unknown, line: number): void {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new FormatError(this.file, 'record is not a JSON object', { line, detail: `got ${describe(value)}; each record must be an object such as {"input": ..., "output": ...}` });
    }
    const rec = value as Record<string, unknown>;
    const keys = Object.keys(rec);
    const signature = keys.join('\u0000');
    if (this.lastPlan === null || signature !== this.lastKeys) {
      const p = planFields(keys, this.columns, 'field', this.file, line);
      this.lastPlan = {
        input: keys[p.input],
        output: keys[p.output],
        instruction: p.instruction === null ? null : keys[p.instruction],
        split: p.split === null ? null : keys[p.split],
      };
      this.lastKeys = signature;
    }
    const plan = this.lastPlan;
    this.firstFields ??= { ...plan };
    this.add(
      {
        input: rec[plan.input],
        output: rec[plan.output],
        instruction: plan.instruction === null ? null : rec[plan.instruction],
        split: plan.split === null ? undefined : rec[plan.split],
      },
      line,
    );
  }

  /** Adds one CSV row given the header's plan; `header` names the columns for `ParseResult.fields`. */
  addRow(row: readonly string[], plan: FieldPlan<number>, line: number, header?: readonly string[]): void {
    if (this.firstFields === null && header !== undefined) {
      const name = (at: number | null) => (at === null ? null : header[at].trim());
      this.firstFields = { input: name(plan.input)!, output: name(plan.output)!, instruction: name(plan.instruction), split: name(plan.split) };
    }
    this.add(
      {
        input: row[plan.input],
        output: row[plan.output],
        instruction: plan.instruction === null ? null : row[plan.instruction],
        split: plan.split === null ? undefined : row[plan.split],
      },
      line,
    );
  }

  private add(fields: { input: unknown; output: unknown; instruction: unknown; split: unknown }, line: number): void {
    const { file } = this;
    const instructionText = textOf(fields.instruction, 'instruction', file, line)?.trim() || null;
    const input = (textOf(fields.input, 'input', file, line) ?? '').trim();
    const output = (textOf(fields.output, 'answer', file, line) ?? '').trim();
    if (output === '') throw new FormatError(file, 'empty answer', { line });
    if (input === '') {
      if (instructionText === null) throw new FormatError(file, 'empty input', { line });
      this.emptyInputLine ??= line;
    }
    this.readSplit(fields.split, line);
    if (instructionText !== null) this.anyInstruction = true;
    const index = this.total++;
    if (index === 0) this.firstInstruction = instructionText;
    else if (instructionText !== this.firstInstruction) this.sameInstruction = false;
    const example = { input, output };
    if (this.keep !== undefined) {
      if (!this.keep(index, example)) return;
      this.indices.push(index);
    }
    this.examples.push(example);
    this.instructions.push(instructionText);
  }

  private readSplit(value: unknown, line: number): void {
    const has = value !== undefined;
    if (this.splitMode === null) {
      this.splitMode = has;
      if (has) this.splits = [];
    } else if (this.splitMode !== has) {
      throw new FormatError(this.file, has ? 'record has a "split" field that earlier records lack' : 'record lacks the "split" field that earlier records have', { line });
    }
    if (!has) return;
    const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
    const split = Object.prototype.hasOwnProperty.call(SPLIT_VALUES, text) ? SPLIT_VALUES[text] : undefined;
    if (split === undefined) {
      throw new FormatError(this.file, `split must be train, test or dev, got ${preview(value)}`, { line });
    }
    this.splits!.push(split);
  }

  /**
   * Resolves instructions and returns everything read. `definition` is a file-level instruction (a benchmark's
   * "Definition"); when given, per-record instructions are always prepended to their inputs.
   */
  finish(definition: string | null): ParseResult {
    if (this.total === 0) throw new FormatError(this.file, 'no examples in the file');
    let instruction = definition;
    let prepended = false;
    if (this.earlier !== undefined) {
      instruction = this.earlier.instruction;
      prepended = this.earlier.prepended === true;
    } else if (this.anyInstruction) {
      const first = this.firstInstruction;
      const shared = definition === null && first !== null && this.sameInstruction;
      if (shared) {
        if (this.emptyInputLine !== null) throw new FormatError(this.file, 'empty input', { line: this.emptyInputLine });
        instruction = first;
      } else {
        prepended = true;
      }
    }
    if (prepended) {
      for (let i = 0; i < this.examples.length; i++) {
        const own = this.instructions[i];
        if (own === null) continue;
        const ex = this.examples[i];
        ex.input = ex.input === '' ? own : `${own}\n\n${ex.input}`;
      }
    }
    return {
      examples: this.examples, instruction, splits: this.earlier?.splits ?? this.splits, fields: this.firstFields, total: this.total, prepended,
      ...(this.keep !== undefined ? { indices: this.indices } : {}),
    };
  }
}
