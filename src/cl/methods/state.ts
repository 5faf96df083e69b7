// A method's state at a task boundary (its banks, memories and statistics) as JSON plus named
// tensors, the two files it is stored in, and the helpers methods use to save and rebuild it.
import type { Bank, BankSpec } from '../../engine/bank.ts';
import { parseSafetensors, toFloat32, writeSafetensors, type HostTensorLike } from '../../model/safetensors.ts';
import type { HostTensor } from '../../model/weights.ts';
import type { MethodContext } from './method.ts';

/** What a method needs to continue after a finished task: plain JSON, f32 tensors and f64 vectors by name. */
export interface MethodState {
  json: Record<string, unknown>;
  tensors: Map<string, HostTensor>;
  float64: Map<string, Float64Array>;
}

export function emptyState(): MethodState {
  return { json: {}, tensors: new Map(), float64: new Map() };
}

const SEP = '::';

/** Stores every tensor of `bank` under `name::key` and its layout under json.banks[name]. */
export async function saveBank(state: MethodState, name: string, bank: Bank): Promise<void> {
  const banks = (state.json.banks ??= {}) as Record<string, BankSpec>;
  banks[name] = bank.spec;
  for (const [key, t] of await bank.params.download()) state.tensors.set(`${name}${SEP}${key}`, t);
}

/** True when the state holds a bank called `name`. */
export function hasBank(state: MethodState, name: string): boolean {
  return Boolean((state.json.banks as Record<string, BankSpec> | undefined)?.[name]);
}

/** Creates a bank with the saved layout and uploads the saved tensors into it. */
export async function loadBank(ctx: MethodContext, state: MethodState, name: string): Promise<Bank> {
  const saved = (state.json.banks as Record<string, BankSpec> | undefined)?.[name];
  if (!saved) throw new Error(`the saved method state has no bank "${name}"`);
  // States saved before the router's pooling was an option used max pooling.
  const spec = saved.router && !saved.router.pool ? { ...saved, router: { ...saved.router, pool: 'max' as const } } : saved;
  const bank = await ctx.createBank(spec);
  const prefix = `${name}${SEP}`;
  const tensors = new Map<string, HostTensor>();
  for (const [key, t] of state.tensors) if (key.startsWith(prefix)) tensors.set(key.slice(prefix.length), t);
  bank.params.upload(tensors);
  return bank;
}

/** Name prefix of the f64 vectors in the tensor file. */
const F64_PREFIX = 'f64::';

export const STATE_JSON = 'state.json';
export const STATE_TENSORS = 'state.safetensors';

/** The two files of a state: JSON (with the runner's own fields added by the caller) and the tensors. */
export function stateFiles(state: MethodState, extra: Record<string, unknown>): Record<string, Uint8Array | string> {
  return {
    [STATE_JSON]: JSON.stringify({ ...extra, method: state.json }),
    [STATE_TENSORS]: writeSafetensors(new Map<string, HostTensorLike>([
      ...state.tensors,
      ...[...state.float64].map(([name, data]): [string, HostTensorLike] => [`${F64_PREFIX}${name}`, { shape: [data.length], data }]),
    ])),
  };
}

/** Reads back what `stateFiles` wrote; `where` names the files in errors. */
export function parseStateFiles(json: unknown, tensors: Uint8Array, where: string): { extra: Record<string, unknown>; state: MethodState } {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${where}/${STATE_JSON}: not a JSON object`);
  const { method, ...extra } = json as Record<string, unknown>;
  if (method === null || typeof method !== 'object' || Array.isArray(method)) throw new Error(`${where}/${STATE_JSON}: "method" is missing`);
  const file = parseSafetensors(tensors, `${where}/${STATE_TENSORS}`);
  const tensors32 = new Map<string, HostTensor>();
  const float64 = new Map<string, Float64Array>();
  for (const [name, entry] of file.tensors) {
    if (name.startsWith(F64_PREFIX) && entry.dtype === 'F64') {
      // Copied byte for byte (the view may be unaligned), so every value comes back exactly.
      const copy = new Uint8Array(entry.bytes);
      float64.set(name.slice(F64_PREFIX.length), new Float64Array(copy.buffer, 0, copy.byteLength / 8));
    } else {
      tensors32.set(name, { shape: [...entry.shape], data: toFloat32(entry) });
    }
  }
  return { extra, state: { json: method as Record<string, unknown>, tensors: tensors32, float64 } };
}
