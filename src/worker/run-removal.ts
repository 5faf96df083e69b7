// Deleting a stored run: its folder goes, and with it every task file that no other stored run names.
import type { AppDatabase } from '../storage/idb-storage.ts';
import { listRunRecords } from './run-job.ts';
import { hashesOf, releaseTaskFiles, withTaskFileLock } from './task-files.ts';

/** Removes runs/<id> and then the task files left unnamed; returns the hashes of the files freed. */
export function deleteRunAndFiles(db: AppDatabase, id: string): Promise<string[]> {
  // Under the store's lock, so that a run being started cannot name a file between the listing and the release.
  return withTaskFileLock(async () => {
    await db.storage('runs').remove(id);
    const inUse = (await listRunRecords(db.storage('runs'))).flatMap((r) => hashesOf(r.taskFiles));
    return releaseTaskFiles(db.storage(), inUse);
  });
}
