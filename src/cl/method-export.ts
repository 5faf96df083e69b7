// The ONNX export of a trained method's answer model (src/cl/playground.ts OnnxAnswerModel): its adapter merged, or
// SAPT's blocks with their router; shared by the playground's onnxruntime backend and the app's ONNX download.
import { exportOnnx, type OnnxExport } from '../export/export-model.ts';
import { memorySource, type FileSource } from '../io/files.ts';
import type { OnnxAnswerModel } from './playground.ts';

/** Exports `model` (the base model's folder) with what `answer` holds; `label` names its files in errors. */
export function exportAnswerModel(model: FileSource, answer: OnnxAnswerModel, label: string): Promise<OnnxExport> {
  return exportOnnx(model, 'adapter' in answer.files
    ? { adapter: memorySource({ ...answer.files.adapter }, `${label} adapter`) }
    : { sapt: memorySource(answer.files.sapt, `${label} SAPT model`) });
}
