// The language-model head and the masked cross-entropy of a training plan in chunks of rows, forward and backward
// side by side: per chunk, logits = h · Wᵀ into one reusable [chunk, vocab] buffer, the cross-entropy with its
// in-place logit gradient, and d h = d logits · W, so the [tokens, vocab] logits never exist at once. The loss is
// still the mean over the whole batch's counted targets: every chunk scales by the batch's 1 / count (the step
// uniform) and its mean adds into the one loss value. Rows whose offsets cannot be bound (256-byte binding offsets)
// go through staging copies; automatic chunk sizes are multiples of 64 rows and need none.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { Plan } from '../gpu/plan.ts';
import { recordAccumulate } from '../gpu/kernels/elementwise.ts';
import { recordCrossEntropy } from '../gpu/kernels/loss.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';

/** Storage buffer bindings must start at multiples of this many bytes. */
const BIND_ALIGN = 256;

export interface ChunkedLossShape {
  rows: number;
  hidden: number;
  vocab: number;
  /** Rows per chunk; the last chunk takes the remainder. */
  chunkRows: number;
  /** Also write the logits' gradient and d hidden. */
  backward: boolean;
}

export interface ChunkedLossIO {
  /** The per-step uniform buffer (1 / counted targets). */
  step: GPUBuffer;
  /** [rows, hidden] the final normalised hidden states. */
  hidden: BufferRef;
  /** [vocab, hidden] the LM head. */
  weight: BufferRef;
  /** [rows] i32 targets, -1 where ignored. */
  targets: BufferRef;
  /** One float: the mean loss over counted targets. */
  loss: BufferRef;
  /** [rows, hidden] d loss / d hidden (with `backward`). */
  dHidden: BufferRef | null;
}

/** Records the chunked loss (and its backward into dHidden); returns the [chunkRows, vocab] logits buffer. */
export function recordChunkedLoss(gpu: Gpu, plan: Plan, s: ChunkedLossShape, io: ChunkedLossIO,
  alloc: (label: string, floats: number) => BufferRef): BufferRef {
  const { hidden: H, vocab: V, chunkRows: C } = s;
  if (!(Number.isSafeInteger(C) && C > 0)) throw new Error(`loss chunk rows must be a positive integer, got ${C}`);
  if (s.backward && !io.dHidden) throw new Error('the chunked loss backward needs a d hidden buffer');
  const logits = alloc('loss_chunk.logits', C * V);
  const rowLoss = alloc('loss_chunk.row_loss', C);
  const chunkLoss = alloc('loss_chunk.mean', 1);
  const chunks = Array.from({ length: Math.ceil(s.rows / C) }, (_, i) => ({ first: i * C, rows: Math.min(C, s.rows - i * C) }));
  const staged = chunks.some((ch) => !rowsBindable(io.targets, ch.first, 1) || !rowsBindable(io.hidden, ch.first, H)
    || (s.backward && !rowsBindable(io.dHidden!, ch.first, H)));
  const stage = staged
    ? { hidden: alloc('loss_chunk.hidden', C * H), targets: alloc('loss_chunk.targets', C), dHidden: s.backward ? alloc('loss_chunk.d_hidden', C * H) : null }
    : null;

  plan.clear(io.loss.buffer, io.loss.offset, io.loss.size);
  for (const [i, ch] of chunks.entries()) {
    const label = `loss_chunk${i}`;
    const chunkLogits = { buffer: logits.buffer, offset: logits.offset, size: ch.rows * V * 4 };
    const h = rowsIn(plan, io.hidden, ch.first, ch.rows, H, stage?.hidden ?? null);
    const targets = rowsIn(plan, io.targets, ch.first, ch.rows, 1, stage?.targets ?? null);
    recordMatmul(gpu, plan, { a: h, b: io.weight, c: chunkLogits, M: ch.rows, N: V, K: H, transB: true }, `${label}.lm_head`);
    recordCrossEntropy(gpu, plan, { rows: ch.rows, vocab: V, writeGrad: s.backward },
      { step: io.step, logits: chunkLogits, targets, rowLoss: { ...rowLoss, size: ch.rows * 4 }, loss: chunkLoss }, `${label}.cross_entropy`);
    recordAccumulate(gpu, plan, 1, { b: chunkLoss, dx: io.loss }, `${label}.loss_sum`);
    if (!s.backward) continue;
    rowsOut(plan, io.dHidden!, ch.first, ch.rows, H, stage?.dHidden ?? null, (dh) =>
      recordMatmul(gpu, plan, { a: chunkLogits, b: io.weight, c: dh, M: ch.rows, N: H, K: V }, `${label}.lm_head.bwd`));
  }
  return logits;
}

/** Whether rows from `first` on of a [*, width] f32 array can be bound in place. */
function rowsBindable(ref: BufferRef, first: number, width: number): boolean {
  return (ref.offset + first * width * 4) % BIND_ALIGN === 0;
}

function rowsView(ref: BufferRef, first: number, rows: number, width: number): BufferRef {
  return { buffer: ref.buffer, offset: ref.offset + first * width * 4, size: rows * width * 4 };
}

/** Rows [first, first + rows) of a [*, width] array as a binding: in place, or copied into `stage`. */
function rowsIn(plan: Plan, ref: BufferRef, first: number, rows: number, width: number, stage: BufferRef | null): BufferRef {
  const view = rowsView(ref, first, rows, width);
  if (rowsBindable(ref, first, width)) return view;
  const staged = { buffer: stage!.buffer, offset: stage!.offset, size: view.size };
  plan.copy(view.buffer, view.offset, staged.buffer, staged.offset, view.size);
  return staged;
}

/** Lets `write` fill rows [first, first + rows) of a [*, width] array: in place, or through `stage` and a copy. */
function rowsOut(plan: Plan, ref: BufferRef, first: number, rows: number, width: number, stage: BufferRef | null, write: (out: BufferRef) => void): void {
  const view = rowsView(ref, first, rows, width);
  if (rowsBindable(ref, first, width)) {
    write(view);
    return;
  }
  const staged = { buffer: stage!.buffer, offset: stage!.offset, size: view.size };
  write(staged);
  plan.copy(staged.buffer, staged.offset, view.buffer, view.offset, view.size);
}
