// A recorded list of GPU work (dispatches, buffer clears and copies) built once and replayed:
// a training step encodes its plan into one command buffer without creating any GPU objects. Each dispatch carries the
// cost its kernel module stated (src/gpu/dispatch-cost.ts), which the plan profiler totals.
import type { DispatchCost } from './dispatch-cost.ts';

export type PlanOp =
  | { kind: 'dispatch'; label: string; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; x: number; y: number; z: number; cost: DispatchCost }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; size: number }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number };

export class Plan {
  readonly ops: PlanOp[] = [];

  constructor(readonly label: string) {}

  get dispatchCount(): number {
    return this.ops.filter((op) => op.kind === 'dispatch').length;
  }

  push(op: PlanOp): void {
    this.ops.push(op);
  }

  clear(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): void {
    this.ops.push({ kind: 'clear', buffer, offset, size });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.ops.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  /** Encodes the ops in order; consecutive dispatches share one compute pass. */
  encode(encoder: GPUCommandEncoder): void {
    let pass: GPUComputePassEncoder | null = null;
    for (const op of this.ops) {
      if (op.kind === 'dispatch') {
        if (!pass) pass = encoder.beginComputePass({ label: this.label });
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(op.x, op.y, op.z);
        continue;
      }
      if (pass) {
        pass.end();
        pass = null;
      }
      if (op.kind === 'clear') encoder.clearBuffer(op.buffer, op.offset, op.size);
      else encoder.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
    }
    if (pass) pass.end();
  }

  /** Encodes and submits this plan alone. */
  submit(device: GPUDevice): void {
    const encoder = device.createCommandEncoder({ label: this.label });
    this.encode(encoder);
    device.queue.submit([encoder.finish()]);
  }
}
