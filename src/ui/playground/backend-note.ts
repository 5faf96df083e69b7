// Pure text of the playground's backend note: which backend answered, and the timings it was chosen on.
import type { AnswerBackendReport } from '../../cl/playground-backend.ts';
import { formatMs } from '../../report/format.ts';

export interface BackendNoteText {
  /** "Answered by onnxruntime-web WebGPU". */
  headline: string;
  /** Why, as the worker said it (it may start with a method's or library's lower-case name). */
  reason: string;
  /** The compared timings, or null when the backends were not timed. */
  timings: string | null;
  /** The one-time costs of onnxruntime-web, not counted in the comparison; null when it did not run. */
  setup: string | null;
}

export function backendNoteText(report: AnswerBackendReport): BackendNoteText {
  const reason = `${report.reason}.`;
  let timings: string | null = null;
  if (report.engineMs !== null && report.comparedOn) {
    const { promptTokens, maxNewTokens } = report.comparedOn;
    const ort = report.ortMs === null ? 'onnxruntime-web did not run' : `onnxruntime-web ${formatMs(report.ortMs)}`;
    const when = report.measuredNow ? 'this question' : 'the first question answered with this adapter';
    timings = `One whole greedy answer (${promptTokens}-token prompt, up to ${maxNewTokens} new tokens), measured on ${when}: ` +
      `clora engine ${formatMs(report.engineMs)}, ${ort}.`;
  }
  let setup: string | null = null;
  if (report.ortSetupMs !== null) {
    const exported = report.exportedWith ? ` with ${report.exportedWith}` : '';
    setup = `onnxruntime-web ran the model exported${exported}; its set-up (export, session) took ${formatMs(report.ortSetupMs)}` +
      (report.ortWarmupMs !== null ? ` and its first answer ${formatMs(report.ortWarmupMs)}` : '') + ', not counted above.';
  }
  return { headline: `Answered by ${report.label}`, reason, timings, setup };
}
