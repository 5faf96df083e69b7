// Where downloaded Hub files are kept, as the Hugging Face cache lays them out: refs name commits, snapshots name
// blobs, blobs are content-addressed by their etag (the LFS sha256, or the git blob id) and grow from `.incomplete`
// files that a later download resumes. node-cache.ts keeps it on disk, browser-cache.ts in chunked IndexedDB.
import type { FileSource } from '../io/files.ts';

/** A blob being downloaded: what is there already, more bytes appended, then completed (or thrown away). */
export interface PartialBlob {
  /** Bytes already stored (from an earlier, interrupted download). */
  readonly length: number;
  /** Reads stored bytes back, for hashing a resumed file's first part. */
  read(offset: number, length: number): Promise<Uint8Array>;
  append(chunk: Uint8Array): Promise<void>;
  /** Drops every stored byte (the server ignored the Range, or the bytes were wrong). */
  reset(): Promise<void>;
  /** Makes the blob complete under its etag. */
  complete(): Promise<void>;
  /** Lets go of what the partial holds open (a file handle); its bytes stay for a later resume. */
  close(): Promise<void>;
}

export interface HubCache {
  /** Where the cache lives (a folder, a database), for messages. */
  readonly label: string;
  /** The commit a branch or tag pointed to when last resolved, or null. */
  readRef(repo: string, revision: string): Promise<string | null>;
  writeRef(repo: string, revision: string, commit: string): Promise<void>;
  /** Whether the snapshot of `commit` holds `path`. */
  hasSnapshotFile(repo: string, commit: string, path: string): Promise<boolean>;
  hasBlob(repo: string, etag: string): Promise<boolean>;
  /** Points the snapshot's `path` at a complete blob. */
  linkSnapshotFile(repo: string, commit: string, path: string, etag: string): Promise<void>;
  openPartial(repo: string, etag: string): Promise<PartialBlob>;
  /** The snapshot's files, read lazily; null when the cache has no snapshot of that commit. */
  snapshot(repo: string, commit: string): Promise<FileSource | null>;
}
