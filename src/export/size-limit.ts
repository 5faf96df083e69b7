// Refuses, before any weight is read, an export whose single protobuf file would pass protobuf's 2 GiB limit.
import type { ModelConfig } from '../model/config.ts';
import { expectedWeightShapes } from '../model/weights.ts';

/** The largest message protobuf can encode or parse: 2^31 - 1 bytes. */
export const PROTOBUF_LIMIT_BYTES = 2 ** 31 - 1;

/** Room kept for everything but the weights: nodes, names, shapes, constants (a few hundred bytes per layer). */
const GRAPH_ALLOWANCE_BYTES = 1 << 20;

export class ExportTooLargeError extends Error {
  readonly bytes: number;

  constructor(model: string, bytes: number, params: number) {
    super(
      `${model}: the ONNX model would be about ${(bytes / 1e9).toFixed(2)} GB (${params.toLocaleString('en-US')} parameters as float32), ` +
        `over protobuf's 2 GiB (${PROTOBUF_LIMIT_BYTES.toLocaleString('en-US')}-byte) limit for one file; ` +
        'writing the weights as ONNX external data is not supported yet',
    );
    this.name = 'ExportTooLargeError';
    this.bytes = bytes;
  }
}

/**
 * The float32 initializer bytes of the exported model: every tensor the architecture reads (the tied head stored
 * once) and the RoPE cos and sin tables, [maxPositionEmbeddings, headDim/2] each.
 */
export function exportedWeightBytes(cfg: ModelConfig): { bytes: number; params: number } {
  let params = 0;
  for (const shape of expectedWeightShapes(cfg).values()) params += shape.reduce((a, b) => a * b, 1);
  const ropeTables = cfg.maxPositionEmbeddings * cfg.headDim;
  return { bytes: (params + ropeTables) * 4, params };
}

/**
 * Throws ExportTooLargeError naming `model` when the export cannot fit in one protobuf message; `extraParams` are
 * float32 values stored beside the model's (SAPT's blocks and router).
 */
export function checkProtobufLimit(model: string, cfg: ModelConfig, extraParams = 0): void {
  const base = exportedWeightBytes(cfg);
  const bytes = base.bytes + extraParams * 4 + GRAPH_ALLOWANCE_BYTES;
  if (bytes > PROTOBUF_LIMIT_BYTES) throw new ExportTooLargeError(model, bytes, base.params + extraParams);
}
