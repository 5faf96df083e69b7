// The per-step uniform block shared by the loss, dropout and optimizer kernels; it is the only
// thing (besides token ids and targets) written to the GPU between training steps.
import type { Gpu } from './context.ts';

export interface StepValues {
  /** 1 / number of counted (non-ignored) targets in the batch. */
  invCount: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW step number, starting at 1. */
  step: number;
  /** Global gradient-norm clip; 0 disables clipping. */
  maxGradNorm: number;
  /** Seed of the dropout masks of this step. */
  seed: number;
}

export const STEP_PARAMS_BYTES = 48;

export class StepParams {
  readonly buffer: GPUBuffer;

  constructor(private readonly gpu: Gpu) {
    this.buffer = gpu.createBuffer('step-params', STEP_PARAMS_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  }

  write(v: StepValues): void {
    const data = new ArrayBuffer(STEP_PARAMS_BYTES);
    const f = new Float32Array(data);
    const u = new Uint32Array(data);
    const bc1 = 1 - Math.pow(v.beta1, v.step);
    const bc2 = 1 - Math.pow(v.beta2, v.step);
    f[0] = v.invCount;
    f[1] = v.lr;
    f[2] = v.beta1;
    f[3] = v.beta2;
    f[4] = v.eps;
    f[5] = v.weightDecay;
    f[6] = v.lr / bc1;
    f[7] = Math.sqrt(bc2);
    f[8] = v.maxGradNorm;
    u[9] = v.seed >>> 0;
    this.gpu.device.queue.writeBuffer(this.buffer, 0, data);
  }
}

const unusedSteps = new WeakMap<Gpu, GPUBuffer>();

/**
 * A zeroed per-step block for kernels that bind one but read it only for LoRA dropout, where none applies
 * (one buffer per device, created on first use).
 */
export function unusedStepParams(gpu: Gpu): GPUBuffer {
  let buffer = unusedSteps.get(gpu);
  if (!buffer) {
    buffer = gpu.createBuffer('step-params.unused', STEP_PARAMS_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    unusedSteps.set(gpu, buffer);
  }
  return buffer;
}
