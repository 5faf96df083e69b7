// One task in the Tasks panel: its name, source and reading (or error), with controls to edit, move and remove it.
import { useId, useRef, type DragEvent } from 'react';
import type { PreviewPrompts } from './TaskPanel.tsx';
import type { TaskInput, TaskPreview } from '../../data/inspect.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { formatBytes, formatInt } from '../../report/format.ts';
import { TaskFieldsLine } from './TaskFieldsLine.tsx';
import { TaskColumns } from './TaskColumns.tsx';
import { TaskInstruction } from './TaskInstruction.tsx';
import { TaskLabels } from './TaskLabels.tsx';
import { TaskPreviewTable } from './TaskPreviewTable.tsx';
import { rowSource, rowState, type TaskRow } from './task-rows.ts';
import './datasets.css';

/** The drag data type of a task row being reordered (files dragged in from outside carry 'Files' instead). */
export const TASK_DRAG_TYPE = 'application/x-clora-task';

/** A row, its place in the list, its flags, and the callbacks that change the list. */
export interface TaskCardProps {
  row: TaskRow;
  /** Position in the stream, from 0. */
  index: number;
  /** Number of rows, to know whether the row can move down. */
  count: number;
  /** Whether another row has the same name. */
  duplicate: boolean;
  disabled: boolean;
  /** Where a row being dragged over this one would land, or null. */
  dropPlace: 'before' | 'after' | null;
  /** Whether this row is the one being dragged. */
  dragging: boolean;
  onInputChange(input: TaskInput): void;
  onMove(delta: -1 | 1): void;
  onRemove(): void;
  onDragStart(): void;
  onDragOverRow(place: 'before' | 'after'): void;
  onDropRow(): void;
  onDragEnd(): void;
  preview?: PreviewPrompts;
  modelKey?: string | null;
}

/** Whether a drag is a task row being reordered. */
export function isRowDrag(e: DragEvent): boolean {
  return Array.from(e.dataTransfer.types).includes(TASK_DRAG_TYPE);
}

const FORMAT_NAMES: Record<TaskPreview['format'], string> = { jsonl: 'JSONL', json: 'JSON', csv: 'CSV', tsv: 'TSV', benchmark: 'Benchmark folder' };

/** A row of the task list (data-testid="task-row"), with its state in data-state. */
export function TaskCard(props: TaskCardProps) {
  const { row, index, count, duplicate, disabled, dropPlace, dragging } = props;
  const { input } = row;
  const state = rowState(row);
  const rowRef = useRef<HTMLLIElement>(null);
  const nameId = useId();
  const nameProblem = input.name.trim() === '' ? 'Give this task a name.' : duplicate ? 'Another task has this name.' : null;

  const onDragStart = (e: DragEvent<HTMLElement>) => {
    e.dataTransfer.setData(TASK_DRAG_TYPE, input.id);
    e.dataTransfer.effectAllowed = 'move';
    if (rowRef.current) e.dataTransfer.setDragImage(rowRef.current, 16, 16);
    props.onDragStart();
  };
  const onDragOver = (e: DragEvent<HTMLLIElement>) => {
    if (disabled || !isRowDrag(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    const rect = e.currentTarget.getBoundingClientRect();
    props.onDragOverRow(e.clientY < rect.top + rect.height / 2 ? 'before' : 'after');
  };
  const onDrop = (e: DragEvent<HTMLLIElement>) => {
    if (!isRowDrag(e)) return;
    e.preventDefault();
    props.onDropRow();
  };

  const classes = ['task-row', `task-row-${state}`];
  if (dragging) classes.push('task-row-dragging');
  if (dropPlace) classes.push(`task-row-drop-${dropPlace}`);

  return (
    <li
      ref={rowRef}
      className={classes.join(' ')}
      data-testid="task-row"
      data-name={input.name}
      data-state={state}
      data-row-id={input.id}
      onDragOver={onDragOver}
      onDrop={onDrop}
    >
      <div className="task-row-head">
        <span
          className={`task-handle${disabled ? ' task-handle-disabled' : ''}`}
          draggable={!disabled}
          onDragStart={onDragStart}
          onDragEnd={props.onDragEnd}
          title="Drag to reorder"
          aria-hidden="true"
        >
          ⠿
        </span>
        <span className="task-index" aria-hidden="true">
          {index + 1}
        </span>
        <div className="task-name-box">
          <input
            className="task-name"
            data-testid="task-name"
            aria-label={`Name of task ${index + 1}`}
            aria-invalid={nameProblem !== null}
            aria-describedby={nameProblem ? nameId : undefined}
            value={input.name}
            disabled={disabled}
            spellCheck={false}
            onChange={(e) => props.onInputChange({ ...input, name: e.currentTarget.value })}
          />
          {nameProblem ? (
            <span id={nameId} className="task-name-problem" data-testid="task-name-problem">
              {nameProblem}
            </span>
          ) : null}
        </div>
        <RowSource row={row} />
        <div className="task-row-actions">
          <button
            type="button"
            className="task-icon-button"
            data-testid="task-move-up"
            aria-label={`Move ${input.name || `task ${index + 1}`} up`}
            title="Move up"
            disabled={disabled || index === 0}
            onClick={() => props.onMove(-1)}
          >
            ↑
          </button>
          <button
            type="button"
            className="task-icon-button"
            data-testid="task-move-down"
            aria-label={`Move ${input.name || `task ${index + 1}`} down`}
            title="Move down"
            disabled={disabled || index === count - 1}
            onClick={() => props.onMove(1)}
          >
            ↓
          </button>
          <button
            type="button"
            className="task-icon-button task-remove"
            data-testid="task-remove"
            aria-label={`Remove ${input.name || `task ${index + 1}`}`}
            title="Remove"
            disabled={disabled}
            onClick={props.onRemove}
          >
            ✕
          </button>
        </div>
      </div>
      <RowBody {...props} />
    </li>
  );
}

/** The format tag and the file or folder the row was read from. */
function RowSource({ row }: { row: TaskRow }) {
  const format = row.inspection !== 'pending' && row.inspection.ok ? row.inspection.preview.format : null;
  const source = rowSource(row.input);
  return (
    <div className="task-source">
      {format ? <span className="tag">{FORMAT_NAMES[format]}</span> : null}
      <span className="task-source-name muted" title={source}>
        {source}
      </span>
    </div>
  );
}

/** What the row shows below its head: reading, the error, or the preview. */
function RowBody(props: TaskCardProps) {
  const { row, disabled, onInputChange } = props;
  const { inspection } = row;
  if (inspection === 'pending') {
    return (
      <p className="task-row-body muted task-reading">
        <span className="spinner" aria-hidden="true" /> Reading {rowSource(row.input)}…
      </p>
    );
  }
  if (!inspection.ok) {
    return (
      <div className="task-row-body" data-testid="task-error">
        <ErrorCallout title="This task could not be read" error={inspection.error} />
        <p className="muted task-error-hint">Fix the file and add it again, name its columns, or remove this task.</p>
        {row.input.kind === 'file' ? (
          <TaskColumns columns={row.input.columns} chosen={null} disabled={disabled} onChange={(columns) => onInputChange({ ...row.input, columns })} />
        ) : null}
      </div>
    );
  }
  const { preview } = inspection;
  return (
    <div className="task-row-body">
      <div className="task-facts">
        <span className="task-counts" data-testid="task-counts" data-train={preview.counts.train} data-test={preview.counts.test} data-dev={preview.counts.dev}>
          <strong>{formatInt(preview.counts.train)}</strong> train · <strong>{formatInt(preview.counts.test)}</strong> test
          {preview.counts.dev > 0 ? (
            <>
              {' '}
              · <strong>{formatInt(preview.counts.dev)}</strong> dev
            </>
          ) : null}
        </span>
        <span className="muted">{formatBytes(preview.bytes)}</span>
        <TaskFieldsLine fields={preview.fields} />
        <TaskColumns columns={row.input.columns} chosen={preview.fields} disabled={disabled} onChange={(columns) => onInputChange({ ...row.input, columns })} />
      </div>
      <TaskLabels labels={preview.labels} />
      <TaskInstruction
        value={row.input.instruction}
        fromData={preview.instruction}
        isFromData={preview.instructionFromData}
        disabled={disabled}
        onChange={(instruction) => onInputChange({ ...row.input, instruction })}
      />
      <TaskPreviewTable rows={preview.rows} fields={preview.fields} instruction={row.input.instruction ?? preview.instruction ?? ''} render={props.preview} modelKey={props.modelKey ?? null} />
    </div>
  );
}
