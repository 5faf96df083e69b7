// Pure helpers of the storage panel: bytes per run and per cached model from the usage's folders, the quota share, and who uses a model.
import type { StorageUsage } from '../../storage/idb-storage.ts';
import type { CachedModelInfo } from '../../worker/model-store.ts';
import type { RunRecord, RunStatus } from '../../worker/run-job.ts';

/** Bytes stored under a folder ("runs/<id>", "models/<id>", "runs"), or null when the usage is unknown or lists no such folder. */
export function folderBytes(usage: StorageUsage | null, folder: string): number | null {
  const v = usage?.byFolder?.[folder];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Bytes a run keeps (runs/<id>: its record, tasks, adapters, replay samples, checkpoints and results). */
export function runBytes(usage: StorageUsage | null, id: string): number | null {
  return folderBytes(usage, `runs/${id}`);
}

/** Bytes a cached model keeps (models/<id>). */
export function modelBytes(usage: StorageUsage | null, id: string): number | null {
  return folderBytes(usage, `models/${id}`);
}

/** The ids of the second-level folders under `top` ("runs" -> every "runs/<id>" in the usage). */
export function foldersUnder(usage: StorageUsage | null, top: string): string[] {
  if (!usage?.byFolder) return [];
  const prefix = `${top}/`;
  return Object.keys(usage.byFolder)
    .filter((k) => k.startsWith(prefix) && k.length > prefix.length && !k.slice(prefix.length).includes('/'))
    .map((k) => k.slice(prefix.length));
}

/** Sum of the known byte counts (nulls count as 0). */
export function sumBytes(values: readonly (number | null)[]): number {
  return values.reduce<number>((a, v) => a + (v ?? 0), 0);
}

/** The browser's estimate of this site's storage against its quota. */
export interface QuotaShare {
  /** Bytes the site uses (all of its storage); this database's total when the browser gives no usage. */
  used: number;
  quota: number;
  /** used / quota, clamped to 0..1. */
  fraction: number;
  /** This database's bytes / quota, clamped to 0..1 (a part of `fraction`). */
  databaseFraction: number;
}

/** The quota share, or null when the browser gave no quota (Node, older browsers). */
export function quotaShare(usage: StorageUsage | null): QuotaShare | null {
  if (!usage || typeof usage.quota !== 'number' || !Number.isFinite(usage.quota) || usage.quota <= 0) return null;
  const quota = usage.quota;
  const used = typeof usage.usage === 'number' && Number.isFinite(usage.usage) ? Math.max(usage.usage, 0) : Math.max(usage.totalBytes, 0);
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  const databaseFraction = clamp(Math.min(usage.totalBytes, used) / quota);
  return { used, quota, fraction: clamp(used / quota), databaseFraction };
}

/** One run in the storage panel. */
export interface RunStorageRow {
  id: string;
  /** The run's title; the id for a folder with no readable run record. */
  title: string;
  /** Null for a folder with no readable run record (an orphan). */
  status: RunStatus | null;
  bytes: number | null;
}

/** Largest first; unknown sizes last; ties by id. */
function byBytes<T extends { id: string; bytes: number | null }>(a: T, b: T): number {
  return (b.bytes ?? -1) - (a.bytes ?? -1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Every stored run with its bytes, plus run folders the usage lists that have no record, largest first. */
export function runStorageRows(usage: StorageUsage | null, runs: readonly RunRecord[]): RunStorageRow[] {
  const known = new Set(runs.map((r) => r.id));
  const rows: RunStorageRow[] = runs.map((r) => ({ id: r.id, title: r.title, status: r.status, bytes: runBytes(usage, r.id) }));
  for (const id of foldersUnder(usage, 'runs')) if (!known.has(id)) rows.push({ id, title: id, status: null, bytes: runBytes(usage, id) });
  return rows.sort(byBytes);
}

/** One cached model in the storage panel. */
export interface ModelStorageRow {
  id: string;
  /** The model's label; the id for a folder with no readable model.json. */
  label: string;
  /** 'files' or 'hub:<repo>@<revision>'; null for an orphan folder. */
  origin: string | null;
  /** Stored bytes from the usage, else the size model.json recorded. */
  bytes: number | null;
  saved: number | null;
  /** Titles of every run that reads this model. */
  usedBy: string[];
  /** Titles of the runs not done that read it (the worker refuses to delete the model while there are any). */
  blockedBy: string[];
}

/** The runs that read a cached model (their model choice is `{ kind: 'cached', id }`). */
export function runsUsingModel(runs: readonly RunRecord[], id: string): RunRecord[] {
  return runs.filter((r) => r.model?.kind === 'cached' && r.model.id === id);
}

/** Every cached model with its bytes and its runs, plus model folders the usage lists that have no model.json, largest first. */
export function modelStorageRows(usage: StorageUsage | null, models: readonly CachedModelInfo[], runs: readonly RunRecord[]): ModelStorageRow[] {
  const row = (id: string, label: string, origin: string | null, bytes: number | null, saved: number | null): ModelStorageRow => {
    const users = runsUsingModel(runs, id);
    return { id, label, origin, bytes, saved, usedBy: users.map((r) => r.title), blockedBy: users.filter((r) => r.status !== 'done').map((r) => r.title) };
  };
  const known = new Set(models.map((m) => m.id));
  const rows = models.map((m) => row(m.id, m.label, m.origin, modelBytes(usage, m.id) ?? (Number.isFinite(m.bytes) ? m.bytes : null), m.saved));
  for (const id of foldersUnder(usage, 'models')) if (!known.has(id)) rows.push(row(id, id, null, modelBytes(usage, id), null));
  return rows.sort(byBytes);
}

/** "hub:owner/name@main" -> "Hugging Face owner/name@main"; "files" -> "picked files". */
export function describeOrigin(origin: string | null): string {
  if (origin === null) return 'no model.json';
  if (origin === 'files') return 'picked files';
  if (origin.startsWith('hub:')) return `Hugging Face ${origin.slice(4)}`;
  return origin;
}
