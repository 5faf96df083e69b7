// `clora export [--model DIR|ID] [--adapter DIR | --sapt DIR] --out FILE.onnx`: writes the model, its LoRA adapter merged or a
// SAPT model's routed blocks added, as one ONNX file, on the CPU without a GPU device.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { exportOnnx } from '../export/export-model.ts';
import { dirSource } from '../io/node-files.ts';
import { openModelArg } from './model-arg.ts';
import { parseCommandArgs } from './command-io.ts';

export const EXPORT_HELP = `  clora export [--model DIR|ID] [--adapter DIR | --sapt DIR] --out FILE.onnx
      Writes the model as one ONNX file (opset 17, standard operators only, so onnxruntime's CPU,
      wasm and WebGPU backends run it): input "input_ids" int64 [batch, sequence], output "logits"
      float32 [batch, sequence, vocab], batch and sequence dynamic (sequence at most the config's
      max_position_embeddings), positions 0..sequence-1 with a causal mask. An adapter's LoRA is
      merged into the weights: W + (alpha/r) B A. --sapt takes the folder a SAPT run writes
      (OUT/sapt: router_config.json, router.safetensors, adapters/<task>/) and keeps its blocks
      apart: the file then also takes "prompt_mask" int64 [batch, sequence] (1 on the prompt's
      tokens, which the router pools; 0 on generated tokens) and also gives "routing" float32
      [batch, blocks], each example's weights over the blocks. Weights are stored as float32.
      Prints {"out", "bytes", "nodes", "initializers", "opset"}. Models over protobuf's 2 GiB
      file limit are refused (ONNX external data is not supported). Needs no GPU.`;

/** What `clora export` prints. */
export interface ExportOutput {
  out: string;
  bytes: number;
  nodes: number;
  initializers: number;
  opset: number;
}

function requireFolder(flag: string, dir: string, usageError: (message: string) => Error): void {
  if (!(existsSync(dir) && statSync(dir).isDirectory())) throw usageError(`${flag}: ${dir} is not a folder`);
}

/**
 * Runs `clora export` on its arguments (those after the word "export"). Returns what was written, or null
 * when help was asked for. Bad usage throws what `usageError` makes; an unsupported model or a bad adapter
 * throws an Error whose one-line message names the file and the problem. Progress notes go to `note`.
 */
export async function exportCommand(
  argv: string[],
  usageError: (message: string) => Error,
  note: (message: string) => void,
): Promise<ExportOutput | null> {
  const args = parseCommandArgs(argv, { model: { type: 'string' }, adapter: { type: 'string' }, sapt: { type: 'string' }, out: { type: 'string' } });
  if (!args) return null;
  const { values, positionals } = args;
  if (positionals.length > 0) throw usageError(`export: unexpected argument "${positionals[0]}"`);
  if (!values.out) throw usageError('export needs --out FILE.onnx');
  const out = resolve(values.out);
  if (existsSync(out) && statSync(out).isDirectory()) throw usageError(`--out: ${values.out} is a folder, expected a file name`);
  if (values.adapter !== undefined && values.sapt !== undefined) throw usageError('export takes --adapter (merged) or --sapt (routed blocks), not both');
  if (values.adapter !== undefined) requireFolder('--adapter', values.adapter, usageError);
  if (values.sapt !== undefined) requireFolder('--sapt', values.sapt, usageError);

  const model = await openModelArg(values.model, '--model', { usageError });
  const result = await exportOnnx(model.source, {
    adapter: values.adapter !== undefined ? dirSource(values.adapter) : undefined,
    sapt: values.sapt !== undefined ? dirSource(values.sapt) : undefined,
    onNote: note,
  });
  try {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, result.bytes);
  } catch (err) {
    throw new Error(`${out}: cannot write: ${err instanceof Error ? err.message : String(err)}`);
  }
  note(`wrote ${out} (${(result.bytes.byteLength / 1e6).toFixed(1)} MB)`);
  return { out, bytes: result.bytes.byteLength, nodes: result.nodes, initializers: result.initializers, opset: result.opset };
}
