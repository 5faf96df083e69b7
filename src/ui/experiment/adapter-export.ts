// Packs a stored PEFT adapter folder (adapter_config.json + adapter_model.safetensors) into a zip for download.
import { zipSync } from 'fflate';
import { MERGING_KINDS, type AdapterRoot } from '../../cl/fixed-adapter.ts';
import type { RunResults } from '../../cl/runner.ts';

/**
 * The adapter folder a method saved for a stage: single-LoRA methods save the whole adapter after
 * each task ("after-<task>"), methods with a module per task save that task's module ("<task>"),
 * joint training saves "joint". Null when none of these exists.
 */
export function adapterFolderFor(folders: readonly string[], results: RunResults, method: string, stage: number): string | null {
  const task = results.tasks[stage]?.name;
  const candidates = results.methods[method]?.matrix === null ? ['joint'] : [`after-${task}`, `${task}`];
  return candidates.find((c) => folders.includes(c)) ?? null;
}

/** Where a method's downloadable adapter of a stage lives: merging methods answer with their merged adapter. */
export function adapterRootFor(results: RunResults, method: string): AdapterRoot {
  return MERGING_KINDS.includes(results.methods[method]?.method ?? '') ? 'merged' : 'adapters';
}

/** A zip with the folder's files under `<folder>/`, the layout PEFT's from_pretrained reads. */
export function zipAdapter(folder: string, files: { name: string; data: Uint8Array }[]): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const f of files) entries[`${folder}/${f.name}`] = f.data;
  return zipSync(entries, { level: 6 });
}
