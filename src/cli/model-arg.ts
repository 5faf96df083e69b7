// What `--model` (and an experiment's "model") names: a local folder, or a Hub id `org/name[@revision]` fetched into the
// Hugging Face cache (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE), as transformers' from_pretrained
// decides: an existing folder wins, anything else shaped like an id goes to the Hub.
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { snapshotModel, type HubProgress } from '../hub/client.ts';
import { hubEnv, nodeHubCache } from '../hub/node-cache.ts';
import { looksLikeModelId, parseModelRef, type ModelRef } from '../hub/repo-id.ts';
import type { FileSource } from '../io/files.ts';
import { dirSource } from '../io/node-files.ts';
import type { BaseModelRef } from '../model/peft.ts';
import { bundledModelDir, bundledModelNamed } from './bundled-model.ts';

export interface OpenedModel {
  source: FileSource;
  /** What an adapter trained on it records as base_model_name_or_path and revision. */
  base: BaseModelRef;
}

const MB = 1e6;

/** A one-line progress printer for downloads on stderr (rewritten in place on a terminal, a line per file otherwise). */
export function downloadPrinter(out: NodeJS.WriteStream, repo: string): (p: HubProgress) => void {
  let lastFile = -1;
  let lastDraw = 0;
  return (p) => {
    const eta = p.etaSeconds !== null ? `, ${Math.ceil(p.etaSeconds)} s left` : '';
    const total = p.total !== null ? ` of ${(p.total / MB).toFixed(1)}` : '';
    const line = `clora: ${repo}: ${p.file} (${p.fileIndex + 1}/${p.files}), ${(p.loaded / MB).toFixed(1)}${total} MB${eta}`;
    if (out.isTTY) {
      const now = Date.now();
      if (now - lastDraw < 100 && p.fileLoaded !== p.fileTotal) return;
      lastDraw = now;
      out.write(`\r${line}\x1b[K`);
      if (p.fileIndex + 1 === p.files && p.fileLoaded === p.fileTotal) out.write('\n');
    } else if (p.fileIndex !== lastFile && p.fileLoaded === p.fileTotal) {
      lastFile = p.fileIndex;
      out.write(line + '\n');
    }
  };
}

/**
 * Opens what `--model` names (undefined: the bundled demo model). A relative folder is taken from `baseDir`; a bare
 * name that is no folder there and names a bundled model (public/models/<name>) is that model.
 * `where` names the flag or field in errors.
 */
export async function openModelArg(arg: string | undefined | null, where: string, opts: { baseDir?: string; quiet?: boolean; env?: NodeJS.ProcessEnv; usageError?: (message: string) => Error } = {}): Promise<OpenedModel> {
  if (arg === undefined || arg === null) {
    const dir = bundledModelDir();
    return { source: dirSource(dir), base: { name: basename(dir), revision: null } };
  }
  const usage = opts.usageError ?? ((m: string) => new Error(m));
  const dir = resolve(opts.baseDir ?? '.', arg);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw usage(`${where}: ${arg} is a file, not a model folder`);
    // The folder as PEFT's from_pretrained would be given it: its absolute path on this machine.
    return { source: dirSource(dir), base: { name: dir, revision: null } };
  }
  // A bare name that is no folder here names a bundled model ("tiny-random"), as the app's exported experiments do.
  const bundled = bundledModelNamed(arg);
  if (bundled !== null) return { source: dirSource(bundled), base: { name: arg, revision: null } };
  if (!looksLikeModelId(arg)) throw usage(`${where}: ${arg} is not a folder, nor a Hugging Face model id (org/name[@revision])`);
  let ref: ModelRef;
  try {
    ref = parseModelRef(arg);
  } catch (e) {
    throw usage(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const env = hubEnv(opts.env);
  const snap = await snapshotModel(nodeHubCache(env.cacheDir), ref, {
    endpoint: env.endpoint,
    token: env.token,
    offline: env.offline,
    onProgress: opts.quiet ? undefined : downloadPrinter(process.stderr, ref.repo),
    onNote: (m) => process.stderr.write(`clora: ${m}\n`),
    onRetry: opts.quiet ? undefined : ({ status, attempt, waitMs }) => process.stderr.write(`clora: ${status === 0 ? 'network error' : `HTTP ${status}`} from the Hub; try ${attempt + 1} in ${(waitMs / 1000).toFixed(1)} s\n`),
  });
  return { source: snap.source, base: { name: ref.repo, revision: snap.commit } };
}
