// An exported decoder (src/export) opened in onnxruntime-web, giving logits for batches of token ids on any of its
// builds (wasm in Node, WebGPU in Node or a browser, passed in as a module) and execution providers.
import type * as Ort from 'onnxruntime-web';
import { PROMPT_MASK_NAME, ROUTING_NAME } from '../export/io-names.ts';

/** The parts of an onnxruntime-web build this code uses (`import('onnxruntime-web')` or `'onnxruntime-web/webgpu'`). */
export type OrtModule = Pick<typeof Ort, 'InferenceSession' | 'Tensor' | 'env'>;

/** An execution provider as onnxruntime-web's session options name it. */
export type OrtExecutionProvider = Ort.InferenceSession.ExecutionProviderConfig;

/** What one forward pass of an exported decoder gives. */
export interface DecoderOutput {
  /** [batch, seq, vocab] */
  data: Float32Array;
  vocab: number;
  /** A SAPT export's weights over its blocks, [batch, blocks]; absent for other exports. */
  routing?: { data: Float32Array; blocks: number };
}

/** Logits of token batches from an exported decoder (OrtDecoder; test fakes). */
export interface LogitsSession {
  /**
   * Logits [batch, seq, vocab] of `ids` ([batch * seq], row-major). `promptMask` ([batch * seq], 1 on prompt tokens)
   * is what a SAPT export's router pools; other exports ignore it.
   */
  logits(ids: ArrayLike<number>, batch: number, seq: number, promptMask?: ArrayLike<number>): Promise<DecoderOutput>;
  release(): Promise<void>;
}

export class OrtDecoder implements LogitsSession {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    /** Which backend runs it, for reports ("onnxruntime-web WebGPU"). */
    readonly backend: string,
  ) {}

  /** Opens the ONNX bytes on `providers`; onnxruntime's own error (e.g. no WebGPU backend) propagates. */
  static async open(ort: OrtModule, onnx: Uint8Array, providers: OrtExecutionProvider[], backend: string): Promise<OrtDecoder> {
    // Errors only: its warnings about shape operators placed on the CPU are expected for every export.
    const session = await ort.InferenceSession.create(onnx, { executionProviders: providers, logSeverityLevel: 3 });
    return new OrtDecoder(ort, session, backend);
  }

  /** int64 [batch, seq] from `values` ([batch * seq], row-major). */
  private int64(values: ArrayLike<number>, batch: number, seq: number, what: string): Ort.Tensor {
    if (values.length !== batch * seq) throw new Error(`${values.length} ${what} do not make a [${batch}, ${seq}] batch`);
    return new this.ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(v))), [batch, seq]);
  }

  /**
   * Logits [batch, seq, vocab] of `ids` ([batch * seq], row-major), fed as int64 input_ids [batch, seq]; a SAPT export
   * also takes the prompt mask (required then) and gives its routing.
   */
  async logits(ids: ArrayLike<number>, batch: number, seq: number, promptMask?: ArrayLike<number>): Promise<DecoderOutput> {
    const feeds: Record<string, Ort.Tensor> = { input_ids: this.int64(ids, batch, seq, 'token ids') };
    if (this.session.inputNames.includes(PROMPT_MASK_NAME)) {
      if (!promptMask) throw new Error('this ONNX model routes on the prompt: it needs a prompt mask');
      feeds[PROMPT_MASK_NAME] = this.int64(promptMask, batch, seq, 'prompt mask entries');
    }
    const result = await this.session.run(feeds);
    const logits = result.logits;
    if (!logits) throw new Error(`the ONNX model has no "logits" output (outputs: ${Object.keys(result).join(', ')})`);
    if (logits.type !== 'float32') throw new Error(`the ONNX model's logits are ${logits.type}, expected float32`);
    const dims = logits.dims;
    if (dims.length !== 3 || dims[0] !== batch || dims[1] !== seq) throw new Error(`the ONNX model's logits have shape [${dims.join(', ')}], expected [${batch}, ${seq}, vocab]`);
    const routing = result[ROUTING_NAME];
    if (!routing) return { data: logits.data as Float32Array, vocab: dims[2] };
    if (routing.type !== 'float32' || routing.dims.length !== 2 || routing.dims[0] !== batch) {
      throw new Error(`the ONNX model's routing is ${routing.type} [${routing.dims.join(', ')}], expected float32 [${batch}, blocks]`);
    }
    return { data: logits.data as Float32Array, vocab: dims[2], routing: { data: routing.data as Float32Array, blocks: routing.dims[1] } };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Opens exported decoders on one backend of onnxruntime-web. */
export interface OrtDecoderFactory {
  /** The backend's name in reports, e.g. "onnxruntime-web WebGPU (shared device)". */
  readonly backend: string;
  open(onnx: Uint8Array): Promise<LogitsSession>;
}

/** onnxruntime-web's WebGPU execution provider on `device` (so it shares the engine's device and adapter). */
export function webGpuDecoderFactory(ort: OrtModule, device: GPUDevice, backend = 'onnxruntime-web WebGPU'): OrtDecoderFactory {
  // One wasm thread: no worker threads to spawn (Node has no Web Worker global; pages are not cross-origin isolated).
  ort.env.wasm.numThreads = 1;
  return { backend, open: (onnx) => OrtDecoder.open(ort, onnx, [{ name: 'webgpu', device }], backend) };
}

/** onnxruntime-web's wasm (CPU) execution provider. */
export function wasmDecoderFactory(ort: OrtModule, backend = 'onnxruntime-web wasm (CPU)'): OrtDecoderFactory {
  ort.env.wasm.numThreads = 1;
  return { backend, open: (onnx) => OrtDecoder.open(ort, onnx, ['wasm'], backend) };
}
