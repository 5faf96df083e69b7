// The place where task files come in: a drop target for files and folders, and pickers for files and for a folder.
import { useRef, useState, type ChangeEvent, type DragEvent } from 'react';
import { collectDataTransfer, collectInputFiles, DATA_EXTENSIONS, type PathedFile } from './group-files.ts';
import './datasets.css';

/** Where picked or dropped files go, and whether the zone takes any. */
export interface TaskDropZoneProps {
  /** Called with every file of a drop or a pick, with its folder path. */
  onFiles(files: PathedFile[]): void;
  /** Called when the browser fails to hand over a dropped folder's files. */
  onError(error: unknown): void;
  disabled?: boolean;
}

const ACCEPT = DATA_EXTENSIONS.map((e) => '.' + e).join(',');

/** Whether a drag carries files from outside the page (not a task row being reordered). */
export function carriesFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer.types).includes('Files');
}

/** Sets the non-standard `webkitdirectory` attribute, which React's input props do not type. */
function folderPicker(el: HTMLInputElement | null): void {
  el?.setAttribute('webkitdirectory', '');
}

/** Drop zone plus "Choose files" and "Choose a folder" pickers; each file input is reset after use. */
export function TaskDropZone({ onFiles, onError, disabled = false }: TaskDropZoneProps) {
  const [over, setOver] = useState(false);
  const [reading, setReading] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  const onDragOver = (e: DragEvent<HTMLDivElement>) => {
    if (disabled || !carriesFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    setOver(true);
  };
  const onDragLeave = (e: DragEvent<HTMLDivElement>) => {
    // Moving onto a child fires dragleave on the zone; only leaving the zone itself counts.
    if (e.relatedTarget instanceof Node && e.currentTarget.contains(e.relatedTarget)) return;
    setOver(false);
  };
  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    e.stopPropagation(); // handled here; the panel around the zone takes only drops that miss it
    setOver(false);
    if (disabled) return;
    // The entries must be taken before this handler returns, so collectDataTransfer is called right here.
    const collecting = collectDataTransfer(e.dataTransfer);
    setReading(true);
    collecting.then(onFiles, onError).finally(() => setReading(false));
  };
  const onPicked = (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    if (input.files && input.files.length > 0) onFiles(collectInputFiles(input.files));
    input.value = '';
  };

  return (
    <div
      className={`task-drop${over ? ' task-drop-over' : ''}${disabled ? ' task-drop-disabled' : ''}`}
      data-testid="task-drop-zone"
      onDragOver={onDragOver}
      onDragEnter={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      <p className="task-drop-title">{reading ? 'Reading the dropped folders…' : 'Drop task files or folders here'}</p>
      <p className="task-drop-hint muted">
        One task per {DATA_EXTENSIONS.map((e) => '.' + e).join(' / ')} file, or per benchmark folder with train.json and test.json.
      </p>
      <div className="task-drop-actions">
        <button type="button" className="button" disabled={disabled} onClick={() => fileInput.current?.click()}>
          Choose files…
        </button>
        <button type="button" className="button" disabled={disabled} onClick={() => folderInput.current?.click()}>
          Choose a folder…
        </button>
      </div>
      <input
        ref={fileInput}
        className="task-file-hidden"
        type="file"
        multiple
        accept={ACCEPT}
        tabIndex={-1}
        aria-hidden="true"
        disabled={disabled}
        data-testid="task-file-input"
        onChange={onPicked}
      />
      <input
        ref={(el) => {
          folderInput.current = el;
          folderPicker(el);
        }}
        className="task-file-hidden"
        type="file"
        multiple
        tabIndex={-1}
        aria-hidden="true"
        disabled={disabled}
        data-testid="task-folder-input"
        onChange={onPicked}
      />
    </div>
  );
}
