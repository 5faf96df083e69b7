// Pure edits of the list of selected methods: pick or drop a method, add another run of it under a distinct name, set and reset options.
import type { MethodRef } from '../../cl/experiment.ts';
import { methodNames, methodOptionSpecs } from './method-options.ts';

/** `method` when no entry has that result name yet, else the first free "method-2", "method-3", … */
export function nextResultName(method: string, taken: readonly string[]): string {
  if (!taken.includes(method)) return method;
  for (let n = 2; ; n++) if (!taken.includes(`${method}-${n}`)) return `${method}-${n}`;
}

/** Where a new entry of `method` goes: after its last entry, else before the first entry of a method later in the registry. */
function insertAt(methods: readonly MethodRef[], method: string): number {
  const last = methods.map((m) => m.method).lastIndexOf(method);
  if (last >= 0) return last + 1;
  const order = methodNames();
  const rank = order.indexOf(method);
  const later = methods.findIndex((m) => order.indexOf(m.method) > rank);
  return later < 0 ? methods.length : later;
}

/** A copy with a new entry of `method` (default options, a distinct result name), grouped with its other entries. */
export function addMethod(methods: readonly MethodRef[], method: string): MethodRef[] {
  const ref: MethodRef = { method, name: nextResultName(method, methods.map((m) => m.name)), options: {} };
  const at = insertAt(methods, method);
  return [...methods.slice(0, at), ref, ...methods.slice(at)];
}

/** A copy with every entry of `method` removed. */
export function removeMethod(methods: readonly MethodRef[], method: string): MethodRef[] {
  return methods.filter((m) => m.method !== method);
}

/** A copy without the entry at `index`. */
export function removeEntry(methods: readonly MethodRef[], index: number): MethodRef[] {
  return methods.filter((_, i) => i !== index);
}

/** A copy with the entry at `index` replaced by `edit(entry)`. */
function editEntry(methods: readonly MethodRef[], index: number, edit: (m: MethodRef) => MethodRef): MethodRef[] {
  return methods.map((m, i) => (i === index ? edit(m) : m));
}

/** A copy with one option of the entry at `index` set, or removed (back to its default) when `value` is undefined. */
export function setOption(methods: readonly MethodRef[], index: number, key: string, value: number | string | undefined): MethodRef[] {
  return editEntry(methods, index, (m) => {
    const options = { ...m.options };
    if (value === undefined) delete options[key];
    else options[key] = value;
    return { ...m, options };
  });
}

/** A copy with every option of the entry at `index` back to its default. */
export function resetOptions(methods: readonly MethodRef[], index: number): MethodRef[] {
  return editEntry(methods, index, (m) => ({ ...m, options: {} }));
}

/** A copy with the entry at `index` given another result name. */
export function renameEntry(methods: readonly MethodRef[], index: number, name: string): MethodRef[] {
  return editEntry(methods, index, (m) => ({ ...m, name }));
}

/** How many options of an entry differ from their defaults. */
export function changedOptionCount(ref: MethodRef): number {
  return methodOptionSpecs(ref.method).filter((o) => ref.options[o.key] !== undefined && ref.options[o.key] !== o.default).length;
}
