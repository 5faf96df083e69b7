// Pooled readback of GPU results to the host: mappable staging buffers kept between calls and reused whenever one is
// large enough, so a repeated call (Session.forward's logits) creates no buffer after the first.
import { toRef, type Bindable, type Gpu } from '../gpu/context.ts';

export class ReadbackPool {
  private readonly free: GPUBuffer[] = [];
  private readonly all = new Set<GPUBuffer>();

  constructor(private readonly gpu: Gpu, private readonly label: string) {}

  /** Copies `source` (a range of whole f32s) behind the work submitted so far and returns it; throws on any recorded GPU error. */
  async readF32(source: Bindable): Promise<Float32Array> {
    const ref = toRef(source);
    const bytes = Math.ceil(ref.size / 4) * 4;
    // The smallest free buffer that holds it; concurrent reads each take their own.
    const fits = this.free.filter((b) => b.size >= bytes).sort((a, b) => a.size - b.size)[0];
    let staging = fits;
    if (staging) this.free.splice(this.free.indexOf(staging), 1);
    else {
      staging = this.gpu.device.createBuffer({ label: this.label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
      this.all.add(staging);
    }
    try {
      const enc = this.gpu.device.createCommandEncoder({ label: this.label });
      enc.copyBufferToBuffer(ref.buffer, ref.offset, staging, 0, bytes);
      this.gpu.device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      this.gpu.throwIfFailed();
      return out;
    } finally {
      if (this.all.has(staging)) this.free.push(staging);
    }
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.free.length = 0;
  }
}
