// Runs an exported decoder with onnxruntime-web's wasm backend in Node; a missing onnxruntime fails the importing suite.
import * as ort from 'onnxruntime-web';

// One wasm thread: deterministic, and no worker threads left behind when a suite ends.
ort.env.wasm.numThreads = 1;

export type OnnxSession = ort.InferenceSession;

export function openOnnx(bytes: Uint8Array): Promise<OnnxSession> {
  return ort.InferenceSession.create(bytes);
}

/** logits [batch, sequence, vocab] for equal-length token sequences, fed as int64 input_ids [batch, sequence]. */
export async function onnxLogits(session: OnnxSession, ids: readonly (readonly number[])[]): Promise<{ data: Float32Array; dims: number[] }> {
  const T = ids[0].length;
  const input = new ort.Tensor('int64', BigInt64Array.from(ids.flat().map((v) => BigInt(v))), [ids.length, T]);
  const result = await session.run({ input_ids: input });
  const logits = result.logits;
  if (!logits) throw new Error(`the model has no "logits" output (outputs: ${Object.keys(result).join(', ')})`);
  if (logits.type !== 'float32') throw new Error(`logits are ${logits.type}, expected float32`);
  return { data: logits.data as Float32Array, dims: [...logits.dims] };
}
