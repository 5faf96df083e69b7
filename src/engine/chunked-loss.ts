// The output head and the masked cross-entropy of a training plan in chunks of rows, forward and backward side by
// side: per chunk, logits = h · Wᵀ into one reusable [chunk, width] buffer, LwF's distillation against the teacher's
// rows of logits (when distilling), the cross-entropy with its in-place logit gradient, and d h = d logits · W (and a
// classification head's d W), so the [tokens, width] logits never exist at once and no binding exceeds the binding
// limit: a chunk's logits fit one binding, and the head reads its weight slice by slice (head-slices.ts). The loss is
// still the mean over the whole batch's counted targets: every chunk scales by the batch's 1 / count (the step
// uniform) and its mean adds into the one loss value. One chunk of every row is the whole-batch loss. Rows whose
// offsets cannot be bound (256-byte binding offsets) go through staging copies; automatic chunk sizes are multiples
// of 64 rows and need none.
import type { BufferRef, Gpu } from '../gpu/context.ts';
import type { Plan } from '../gpu/plan.ts';
import { recordDistill } from '../gpu/kernels/distill.ts';
import { recordAccumulate } from '../gpu/kernels/elementwise.ts';
import { recordCrossEntropy } from '../gpu/kernels/loss.ts';
import { recordMatmul } from '../gpu/kernels/matmul.ts';
import { recordHeadBackward, recordHeadInSlices } from './head-slices.ts';
import type { VocabTable } from './vocab-table.ts';

/** Storage buffer bindings must start at multiples of this many bytes. */
const BIND_ALIGN = 256;

export interface ChunkedLossShape {
  rows: number;
  /** Rows per chunk; the last chunk takes the remainder. */
  chunkRows: number;
  /** Also write the logits' gradient and d hidden. */
  backward: boolean;
  /** LwF: add weight · T² · KL(teacher || student) per counted row (its gradient only; the loss value stays the cross-entropy). */
  distill?: { temperature: number; weight: number } | null;
  /** Dispatch labels name the head: 'lm_head' (default) or 'head' (a classification head). */
  head?: 'lm_head' | 'head';
}

export interface ChunkedLossIO {
  /** The per-step uniform buffer (1 / counted targets). */
  step: GPUBuffer;
  /** [rows, hidden] the final normalised hidden states. */
  hidden: BufferRef;
  /** [width, hidden] the LM head (in vocabulary slices) or a classification head. */
  table: VocabTable;
  /** [rows] i32 targets, -1 where ignored. */
  targets: BufferRef;
  /** One float: the mean loss over counted targets. */
  loss: BufferRef;
  /** [rows, hidden] d loss / d hidden (with `backward`). */
  dHidden: BufferRef | null;
  /** [rows, width] the teacher's logits (with `distill`); overwritten with the distillation's gradient. */
  teacher?: BufferRef | null;
  /** [width, hidden] a trained head's weight gradient, written (with `backward`). */
  dWeight?: BufferRef | null;
}

/** Records the chunked loss (and its backward into dHidden); returns the [chunkRows, width] logits buffer. */
export function recordChunkedLoss(gpu: Gpu, plan: Plan, s: ChunkedLossShape, io: ChunkedLossIO,
  alloc: (label: string, floats: number) => BufferRef): BufferRef {
  const { chunkRows: C } = s;
  const V = io.table.vocab;
  const H = io.table.hidden;
  if (!(Number.isSafeInteger(C) && C > 0)) throw new Error(`loss chunk rows must be a positive integer, got ${C}`);
  if (s.backward && !io.dHidden) throw new Error('the chunked loss backward needs a d hidden buffer');
  if (s.distill && !io.teacher) throw new Error('distillation needs the teacher\'s logits');
  const logits = alloc('loss_chunk.logits', C * V);
  const rowLoss = alloc('loss_chunk.row_loss', C);
  const chunkLoss = alloc('loss_chunk.mean', 1);
  // The head's scratch and staging buffers, shared by every chunk: the first chunk is the largest, and its forward
  // and backward ask for the same sizes (a chunk's logits fit one binding, so the head computes them in one piece).
  const scratch = new Map<string, BufferRef>();
  const shared = (label: string, floats: number): BufferRef => {
    let b = scratch.get(label);
    if (!b) scratch.set(label, (b = alloc(`loss_chunk.${label}`, floats)));
    if (b.size < floats * 4) throw new Error(`loss chunk scratch ${label}: ${floats} floats asked of a buffer of ${b.size / 4}`);
    return b;
  };
  const chunks = Array.from({ length: Math.ceil(s.rows / C) }, (_, i) => ({ first: i * C, rows: Math.min(C, s.rows - i * C) }));
  const staged = chunks.some((ch) => !rowsBindable(io.targets, ch.first, 1) || !rowsBindable(io.hidden, ch.first, H)
    || (s.backward && !rowsBindable(io.dHidden!, ch.first, H)) || (s.distill && !rowsBindable(io.teacher!, ch.first, V)));
  const stage = staged
    ? {
      hidden: alloc('loss_chunk.hidden', C * H), targets: alloc('loss_chunk.targets', C), dHidden: s.backward ? alloc('loss_chunk.d_hidden', C * H) : null,
      teacher: s.distill ? alloc('loss_chunk.teacher', C * V) : null,
    }
    : null;

  plan.clear(io.loss.buffer, io.loss.offset, io.loss.size);
  for (const [i, ch] of chunks.entries()) {
    const label = `loss_chunk${i}`;
    const head = s.head ?? 'lm_head';
    const chunkLogits = { buffer: logits.buffer, offset: logits.offset, size: ch.rows * V * 4 };
    const h = rowsIn(plan, io.hidden, ch.first, ch.rows, H, stage?.hidden ?? null);
    const targets = rowsIn(plan, io.targets, ch.first, ch.rows, 1, stage?.targets ?? null);
    recordHeadInSlices(gpu, plan, { rows: ch.rows }, { hidden: h, table: io.table, logits: chunkLogits }, shared, `${label}.${head}`);
    const teacher = s.distill ? rowsIn(plan, io.teacher!, ch.first, ch.rows, V, stage?.teacher ?? null) : null;
    if (s.distill && teacher) {
      // Reads the student logits before the cross-entropy overwrites them with their gradient.
      recordDistill(gpu, plan, { rows: ch.rows, vocab: V, ...s.distill }, { step: io.step, student: chunkLogits, teacher, targets }, `${label}.distill`);
    }
    recordCrossEntropy(gpu, plan, { rows: ch.rows, vocab: V, writeGrad: s.backward },
      { step: io.step, logits: chunkLogits, targets, rowLoss: { ...rowLoss, size: ch.rows * 4 }, loss: chunkLoss }, `${label}.cross_entropy`);
    recordAccumulate(gpu, plan, 1, { b: chunkLoss, dx: io.loss }, `${label}.loss_sum`);
    if (!s.backward) continue;
    if (teacher) recordAccumulate(gpu, plan, ch.rows * V, { b: teacher, dx: chunkLogits }, `${label}.distill.grad`);
    if (io.dWeight) {
      recordMatmul(gpu, plan, { a: chunkLogits, b: h, c: io.dWeight, M: V, N: H, K: ch.rows, transA: true, beta: i > 0 ? 1 : 0 }, `${label}.head.bwd.dw`);
    }
    rowsOut(plan, io.dHidden!, ch.first, ch.rows, H, stage?.dHidden ?? null, (dh) =>
      recordHeadBackward(gpu, plan, { rows: ch.rows }, { dLogits: chunkLogits, table: io.table, dHidden: dh }, shared, `${label}.${head}.bwd`));
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
