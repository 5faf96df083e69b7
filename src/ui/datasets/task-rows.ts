// Pure helpers over the Tasks panel's rows: their state, name checks, readiness for a run, reordering and label truncation.
import type { TaskInput, TaskInspection } from '../../data/inspect.ts';
import type { ColumnMap } from '../../data/parse.ts';

/** One task in the panel: what was added, and the worker's reading of it (or 'pending' while it reads). */
export interface TaskRow {
  input: TaskInput;
  inspection: TaskInspection | 'pending';
}

/** The reading state of a row, also its data-state attribute. */
export type RowState = 'pending' | 'ok' | 'error';

/** Whether a row is still being read, was read, or failed to read. */
export function rowState(row: TaskRow): RowState {
  if (row.inspection === 'pending') return 'pending';
  return row.inspection.ok ? 'ok' : 'error';
}

/** Names (trimmed) that more than one row uses. */
export function duplicateNames(rows: readonly TaskRow[]): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const r of rows) {
    const name = r.input.name.trim();
    if (name === '') continue;
    if (seen.has(name)) dup.add(name);
    seen.add(name);
  }
  return dup;
}

/**
 * Whether the rows can start a run: at least one task, every one read without error, and names that are
 * non-empty and unique. `problems` says what is wrong, one sentence each, in row order.
 */
export function tasksReady(tasks: readonly TaskRow[]): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  if (tasks.length === 0) problems.push('Add at least one task.');
  tasks.forEach((row, i) => {
    const label = row.input.name.trim() === '' ? `Task ${i + 1}` : `Task "${row.input.name.trim()}"`;
    if (row.input.name.trim() === '') problems.push(`Task ${i + 1} has no name.`);
    const state = rowState(row);
    if (state === 'pending') problems.push(`${label} is still being read.`);
    else if (state === 'error') problems.push(`${label} could not be read.`);
  });
  for (const name of duplicateNames(tasks)) problems.push(`More than one task is named "${name}".`);
  return { ok: problems.length === 0, problems };
}

/** The rows with the one at `from` moved to index `to` (clamped); the same array when nothing moves. */
export function moveRow<T>(rows: readonly T[], from: number, to: number): T[] {
  const target = Math.max(0, Math.min(rows.length - 1, to));
  if (from < 0 || from >= rows.length || from === target) return rows as T[];
  const out = rows.slice();
  const [moved] = out.splice(from, 1);
  out.splice(target, 0, moved);
  return out;
}

/**
 * Where a row dragged from `from` lands when dropped on the row at `over`, before or after it (the index in the
 * list after the move).
 */
export function dropTarget(from: number, over: number, place: 'before' | 'after'): number {
  const insertAt = place === 'before' ? over : over + 1;
  return insertAt > from ? insertAt - 1 : insertAt;
}

/** The labels to show as chips, at most `max`, and how many more there are. */
export function truncateLabels(labels: readonly string[], max: number): { shown: string[]; more: number } {
  if (labels.length <= max) return { shown: labels.slice(), more: 0 };
  return { shown: labels.slice(0, max), more: labels.length - max };
}

/** What a row was read from, for messages: the benchmark folder, else the file name. */
export function rowSource(input: TaskInput): string {
  if (input.kind === 'benchmark') return input.folder ?? input.name;
  return input.files[0]?.name ?? input.name;
}

/** The failed inspection recorded when the inspect call itself rejects (a worker that died, say). */
export function failedInspection(input: TaskInput, error: unknown): TaskInspection {
  const message = error instanceof Error ? error.message || error.name : String(error);
  return { ok: false, id: input.id, name: input.name, source: rowSource(input), error: message };
}

/** The roles a task's column mapping names. */
export const COLUMN_ROLES = ['input', 'output', 'instruction'] as const;

/** The mapping the column form asks for: blank fields mean the automatic choice; null when all are blank. */
export function columnsFromForm(values: Readonly<Record<(typeof COLUMN_ROLES)[number], string>>): ColumnMap | null {
  const out: ColumnMap = {};
  for (const role of COLUMN_ROLES) if (values[role].trim() !== '') out[role] = values[role].trim();
  return Object.keys(out).length > 0 ? out : null;
}
