// The Tasks panel: add task datasets by drop or pick, see each one's reading, and edit, reorder or remove them.
import { useEffect, useLayoutEffect, useRef, useState, type DragEvent } from 'react';
import type { PromptPreview } from '../../data/prompt-preview.ts';
import type { TaskInput, TaskInspection } from '../../data/inspect.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { collectDataTransfer, groupDroppedFiles, type PathedFile, type SkippedFile } from './group-files.ts';
import { SkippedFiles } from './SkippedFiles.tsx';
import { TaskCard } from './TaskCard.tsx';
import { carriesFiles, TaskDropZone } from './TaskDropZone.tsx';
import { dropTarget, duplicateNames, failedInspection, moveRow, type TaskRow } from './task-rows.ts';
import './datasets.css';

/** Row type and readiness check, re-exported for the panel's parent. */
export { tasksReady, type TaskRow } from './task-rows.ts';

/** The rows (owned by the parent), the change callback, the reader, and the lock. */
export interface TaskPanelProps {
  /** The task stream, in learning order. */
  tasks: TaskRow[];
  /** Receives the whole new list after every change (adds, edits, moves, removals, finished readings). */
  onChange(tasks: TaskRow[]): void;
  /** Reads one task (the worker's inspectTask); called once for each row that is pending. */
  inspect(input: TaskInput): Promise<TaskInspection>;
  /** Locks the list, e.g. while a run uses it. */
  disabled?: boolean;
  /** The loaded model's rendering of examples (prompt and answer with special tokens); null before a model is loaded. */
  preview?: PreviewPrompts;
  /** Changes when another model is loaded, so previews are rendered again. */
  modelKey?: string | null;
}

/** Whether two inputs ask for the same column mapping. */
const sameColumns = (a: TaskInput, b: TaskInput) => JSON.stringify(a.columns) === JSON.stringify(b.columns);
/** A reading in flight: the task and the mapping it reads through. */
const readingKey = (input: TaskInput) => `${input.id}\u0000${JSON.stringify(input.columns)}`;

export type PreviewPrompts = (instruction: string, examples: { input: string; output: string }[]) => Promise<PromptPreview[] | null>;

interface DragState {
  id: string;
  overId: string | null;
  place: 'before' | 'after';
}

/** Which control to focus once the list has re-rendered (moving a focused button re-inserts it, which drops focus). */
interface FocusRequest {
  id: string;
  control: 'task-move-up' | 'task-move-down' | 'task-remove';
}

/**
 * The list of tasks with a drop zone. The parent owns the rows; every change goes through `onChange`, and rows
 * added as 'pending' (here or by the parent) are read with `inspect`, each result merged into the latest rows.
 */
export function TaskPanel({ tasks, onChange, inspect, disabled = false, preview, modelKey = null }: TaskPanelProps) {
  const [skipped, setSkipped] = useState<SkippedFile[]>([]);
  const [dropError, setDropError] = useState<unknown>(null);
  const [drag, setDrag] = useState<DragState | null>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const focusRequest = useRef<FocusRequest | null>(null);

  // The newest rows, also between a change and the parent's re-render, so that results arriving together all land.
  const latest = useRef(tasks);
  latest.current = tasks;
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const commit = (next: TaskRow[]) => {
    latest.current = next;
    onChangeRef.current(next);
  };

  const started = useRef(new Set<string>());
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  useEffect(() => {
    for (const row of tasks) {
      const { input } = row;
      if (row.inspection !== 'pending' || started.current.has(readingKey(input))) continue;
      started.current.add(readingKey(input));
      let reading: Promise<TaskInspection>;
      try {
        reading = inspect(input);
      } catch (e) {
        reading = Promise.reject(e);
      }
      void reading
        .catch((e: unknown) => failedInspection(input, e))
        .then((result) => {
          started.current.delete(readingKey(input));
          if (!mounted.current) return;
          const now = latest.current;
          // A reading through a mapping the row no longer asks for is dropped.
          const wanted = (r: TaskRow) => r.input.id === input.id && r.inspection === 'pending' && sameColumns(r.input, input);
          if (!now.some(wanted)) return;
          commit(now.map((r) => (wanted(r) ? { ...r, inspection: result } : r)));
        });
    }
  });

  useLayoutEffect(() => {
    const req = focusRequest.current;
    if (!req || !listRef.current) return;
    focusRequest.current = null;
    const row = listRef.current.querySelector<HTMLElement>(`[data-row-id="${req.id}"]`);
    const wanted = row?.querySelector<HTMLButtonElement>(`[data-testid="${req.control}"]`);
    const fallback = row?.querySelector<HTMLButtonElement>('[data-testid="task-move-up"]:not(:disabled), [data-testid="task-move-down"]:not(:disabled), [data-testid="task-remove"]');
    (wanted && !wanted.disabled ? wanted : fallback)?.focus();
  });

  const addFiles = (files: PathedFile[]) => {
    setDropError(null);
    const current = latest.current;
    const { inputs, skipped: notAdded } = groupDroppedFiles(
      files,
      current.map((r) => r.input.name),
      current.map((r) => r.input),
    );
    setSkipped(notAdded);
    if (inputs.length > 0) commit([...current, ...inputs.map((input): TaskRow => ({ input, inspection: 'pending' }))]);
  };

  // A new column mapping means reading the file again through it.
  const updateInput = (input: TaskInput) => commit(latest.current.map((r) => {
    if (r.input.id !== input.id) return r;
    return sameColumns(r.input, input) ? { ...r, input } : { input, inspection: 'pending' };
  }));

  const move = (id: string, to: (from: number) => number, control?: FocusRequest['control']) => {
    const rows = latest.current;
    const from = rows.findIndex((r) => r.input.id === id);
    if (from < 0) return;
    const next = moveRow(rows, from, to(from));
    if (next === rows) return;
    if (control) focusRequest.current = { id, control };
    commit(next);
  };

  const remove = (id: string) => {
    const rows = latest.current;
    const at = rows.findIndex((r) => r.input.id === id);
    if (at < 0) return;
    const next = rows.filter((r) => r.input.id !== id);
    const neighbour = next[Math.min(at, next.length - 1)];
    if (neighbour) focusRequest.current = { id: neighbour.input.id, control: 'task-remove' };
    commit(next);
  };

  const dropOn = () => {
    if (!drag || drag.overId === null) return;
    const over = latest.current.findIndex((r) => r.input.id === drag.overId);
    if (over >= 0) move(drag.id, (from) => dropTarget(from, over, drag.place));
    setDrag(null);
  };

  const leaveList = (e: DragEvent<HTMLOListElement>) => {
    // Leaving the list (not just moving between rows) clears the drop marker.
    if (drag && !(e.relatedTarget instanceof Node && e.currentTarget.contains(e.relatedTarget))) setDrag({ ...drag, overId: null });
  };

  // Files dropped on the panel but outside the drop zone are taken too, rather than letting the browser open them.
  const onPanelDragOver = (e: DragEvent<HTMLElement>) => {
    if (carriesFiles(e)) e.preventDefault();
  };
  const onPanelDrop = (e: DragEvent<HTMLElement>) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    if (!disabled) collectDataTransfer(e.dataTransfer).then(addFiles, setDropError);
  };

  const duplicates = duplicateNames(tasks);
  return (
    <section className="card task-panel" data-testid="task-panel" aria-labelledby="task-panel-title" onDragOver={onPanelDragOver} onDrop={onPanelDrop}>
      <header className="card-header">
        <h2 id="task-panel-title">Tasks</h2>
        <span className="tag">{tasks.length === 0 ? 'none yet' : `${tasks.length} in order`}</span>
      </header>
      <p className="muted task-panel-intro">Tasks are learned one after another, top first. Drag a row by its handle, or use the arrows, to change the order.</p>
      <TaskDropZone onFiles={addFiles} onError={setDropError} disabled={disabled} />
      {dropError !== null ? <ErrorCallout title="The dropped files could not be read" error={dropError} /> : null}
      <SkippedFiles files={skipped} onDismiss={() => setSkipped([])} />
      {tasks.length > 0 ? (
        <ol className="task-list" ref={listRef} onDragLeave={leaveList}>
          {tasks.map((row, index) => (
            <TaskCard
              key={row.input.id}
              row={row}
              index={index}
              count={tasks.length}
              duplicate={duplicates.has(row.input.name.trim())}
              disabled={disabled}
              dragging={drag?.id === row.input.id}
              dropPlace={drag && drag.overId === row.input.id && drag.id !== row.input.id ? drag.place : null}
              onInputChange={updateInput}
              onMove={(delta) => move(row.input.id, (from) => from + delta, delta < 0 ? 'task-move-up' : 'task-move-down')}
              onRemove={() => remove(row.input.id)}
              onDragStart={() => setDrag({ id: row.input.id, overId: null, place: 'before' })}
              onDragOverRow={(place) => {
                if (drag && (drag.overId !== row.input.id || drag.place !== place)) setDrag({ ...drag, overId: row.input.id, place });
              }}
              onDropRow={dropOn}
              onDragEnd={() => setDrag(null)}
              preview={preview}
              modelKey={modelKey}
            />
          ))}
        </ol>
      ) : null}
    </section>
  );
}
