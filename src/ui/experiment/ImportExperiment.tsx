// The Import card: an experiment file (what `clora run` reads) with its task files, dropped or picked as a folder or a
// zip, read by the worker and put into the form; the reader's error names the missing file or the bad field.
import { useRef, useState, type ChangeEvent, type DragEvent } from 'react';
import type { ImportedExperiment } from '../engine-client.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { collectDataTransfer, collectInputFiles, type PathedFile } from '../datasets/group-files.ts';
import { carriesFiles } from '../datasets/TaskDropZone.tsx';

export interface ImportExperimentProps {
  /** Reads the files (a single .zip, or a folder's files) into an experiment. */
  read(files: PathedFile[], from: string): Promise<ImportedExperiment>;
  onImported(imported: ImportedExperiment): void;
  disabled?: boolean;
}

/** Where the files came from, as errors name it: the zip, the folder, or "the dropped files". */
function describe(files: PathedFile[]): string {
  if (files.length === 1) return files[0].path;
  const tops = new Set(files.map((f) => f.path.split('/')[0]));
  return tops.size === 1 && files[0].path.includes('/') ? `the folder ${[...tops][0]}` : 'the dropped files';
}

export function ImportExperiment({ read, onImported, disabled = false }: ImportExperimentProps) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const zipInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  const take = async (files: PathedFile[]) => {
    if (files.length === 0) return;
    setError(null);
    setDone(null);
    setBusy(true);
    try {
      const imported = await read(files, describe(files));
      onImported(imported);
      setDone(`${imported.file}: ${imported.tasks.length} tasks, ${imported.settings.methods.length} methods.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const onPicked = (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    if (input.files) void take(collectInputFiles(input.files));
    input.value = '';
  };
  const onDragOver = (e: DragEvent<HTMLElement>) => {
    if (disabled || !carriesFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };
  const onDrop = (e: DragEvent<HTMLElement>) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    if (disabled) return;
    collectDataTransfer(e.dataTransfer).then((files) => take(files), setError);
  };

  return (
    <section className="card" data-testid="experiment-import" aria-labelledby="experiment-import-title" onDragOver={onDragOver} onDrop={onDrop}>
      <div className="card-header"><h2 id="experiment-import-title">Import an experiment</h2></div>
      <p className="muted">
        Drop a folder or a .zip holding an experiment file (experiment.json, as <code>clora run</code> reads it) with its task files; paths in it
        are relative to it. Its settings and tasks fill the form below. A run exported from the Runs view imports the same way.
      </p>
      <div className="task-drop-actions">
        <button type="button" className="button" disabled={disabled || busy} onClick={() => zipInput.current?.click()}>Choose a zip…</button>
        <button type="button" className="button" disabled={disabled || busy} onClick={() => folderInput.current?.click()}>Choose a folder…</button>
        {busy ? <span className="muted">Reading…</span> : null}
      </div>
      <input ref={zipInput} className="task-file-hidden" type="file" accept=".zip,application/zip" tabIndex={-1} aria-hidden="true"
        disabled={disabled} data-testid="experiment-import-zip" onChange={onPicked} />
      <input ref={(el) => { folderInput.current = el; el?.setAttribute('webkitdirectory', ''); }} className="task-file-hidden" type="file" multiple
        tabIndex={-1} aria-hidden="true" disabled={disabled} data-testid="experiment-import-folder" onChange={onPicked} />
      {done ? <p className="muted" data-testid="experiment-import-done">Imported {done}</p> : null}
      {error !== null ? <ErrorCallout title="The experiment could not be imported" error={error} /> : null}
    </section>
  );
}
