// Runs an exported decoder with onnxruntime in Node (onnxruntime-web's wasm backend here; onnxruntime-node sessions take
// the same tensors, both being onnxruntime-common's); a missing onnxruntime fails the importing suite.
import * as ort from 'onnxruntime-web';

// One wasm thread: deterministic, and no worker threads left behind when a suite ends.
ort.env.wasm.numThreads = 1;

export type OnnxSession = ort.InferenceSession;

export function openOnnx(bytes: Uint8Array): Promise<OnnxSession> {
  return ort.InferenceSession.create(bytes);
}

export interface DecoderOutputs {
  /** [batch, sequence, vocab] */
  logits: { data: Float32Array; dims: number[] };
  /** SAPT exports: [batch, blocks]. */
  routing: { data: Float32Array; dims: number[] } | null;
}

function int64Matrix(rows: readonly (readonly number[])[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, rows[0].length]);
}

function floatOutput(result: ort.InferenceSession.OnnxValueMapType, name: string): { data: Float32Array; dims: number[] } {
  const t = result[name];
  if (!t) throw new Error(`the model has no "${name}" output (outputs: ${Object.keys(result).join(', ')})`);
  if (t.type !== 'float32') throw new Error(`${name} is ${t.type}, expected float32`);
  return { data: t.data as Float32Array, dims: [...t.dims] };
}

/**
 * Runs equal-length token sequences, fed as int64 input_ids [batch, sequence]; a SAPT export also takes
 * `promptMask` (int64 prompt_mask, 1 on prompt tokens) and gives routing.
 */
export async function onnxRun(session: OnnxSession, ids: readonly (readonly number[])[], promptMask?: readonly (readonly number[])[]): Promise<DecoderOutputs> {
  const feeds: Record<string, ort.Tensor> = { input_ids: int64Matrix(ids) };
  if (promptMask) feeds.prompt_mask = int64Matrix(promptMask);
  const result = await session.run(feeds);
  return { logits: floatOutput(result, 'logits'), routing: 'routing' in result ? floatOutput(result, 'routing') : null };
}

/** logits [batch, sequence, vocab] for equal-length token sequences. */
export async function onnxLogits(session: OnnxSession, ids: readonly (readonly number[])[]): Promise<{ data: Float32Array; dims: number[] }> {
  return (await onnxRun(session, ids)).logits;
}
