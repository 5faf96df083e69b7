// Reloads a method as a finished run left it (its last checkpoint) and answers new inputs with it on the engine,
// reporting how a selecting method (SAPT, ConPET) weighted its task modules for each answer, and what an ONNX export
// of the method is: the adapter of methods whose adapter does not depend on the prompt, or SAPT's blocks with their
// router (./playground-backend.ts answers through onnxruntime with it).
import { padIdFor } from '../data/encode.ts';
import { encodeTaskExample } from '../data/fit-example.ts';
import type { Task } from '../data/task.ts';
import type { Session } from '../engine/session.ts';
import { rngFromState } from '../model/rng.ts';
import type { Experiment } from './experiment.ts';
import { createMethod } from './methods/index.ts';
import type { ContinualMethod, MethodContext } from './methods/method.ts';
import { CHECKPOINT_FOLDER, encodeTasks, readCheckpoint } from './runner.ts';
import type { RunStorage } from './storage.ts';
import { bankMixtureAdapter, FIXED_ADAPTER_METHODS, fixedMixture, perPromptBank, perPromptKind } from './fixed-adapter.ts';
import type { AnswerBackendReport } from './playground-backend.ts';
import type { PeftFiles } from '../model/peft.ts';

export interface PlaygroundAnswer {
  text: string;
  /** The selector's weight per task module for this input, for methods that select; else null. */
  weights: number[] | null;
  /** Task index answered as (the instruction used). */
  task: number;
  /** The stage the method was saved after (its last trained task). */
  stage: number;
  /** Which backend produced the answer and why, when the playground compared backends; null for the engine alone. */
  backend: AnswerBackendReport | null;
}

/**
 * What the model is exported with to answer a task through onnxruntime: the adapter a method answers with whatever
 * the prompt, merged; or a SAPT model folder, whose router mixes its blocks per prompt inside the exported graph.
 */
export interface OnnxAnswerModel {
  /** Same key, same export: a comparison made for one key holds for every answer with it. */
  key: string;
  /** What the export holds, as a phrase after "with" ("its one LoRA merged"). */
  description: string;
  files: { adapter: PeftFiles } | { sapt: Record<string, Uint8Array | string> };
  /** The weights the answer reports when they do not depend on the prompt (a fixed mixture of several blocks); else null. */
  weights: number[] | null;
}

export interface TrainedMethod {
  readonly name: string;
  readonly stage: number;
  /** The run's limit on generated tokens, and the tokenizer's stop ids: the greedy rules of every backend. */
  readonly maxNewTokens: number;
  readonly stopIds: readonly number[];
  /** The prompt ids of `input` under task `task`'s instruction (or `instruction`), as the run encoded its prompts. */
  prompt(input: string, task: number, instruction?: string): number[];
  /** The engine's greedy answer ids (KV cache) to a prompt of task `task`, and the selector's weights. */
  generate(prompt: number[], task: number): Promise<{ ids: number[]; weights: number[] | null }>;
  /** What an ONNX export answering `prompt` of task `task` holds; or why the method cannot be exported. */
  onnxModel(prompt: number[], task: number): Promise<OnnxAnswerModel | { reason: string }>;
  /** The answer's text from generated ids. */
  text(ids: number[]): string;
  /** Greedy answer to `input` under task `task`'s instruction (or `instruction` when given), on the engine. */
  answer(input: string, task: number, instruction?: string): Promise<PlaygroundAnswer>;
  dispose(): void;
}

const ROUTED_DESCRIPTION = 'its task LoRAs and its selector, routed per prompt';

/** Loads method `name` of a stored run from its last checkpoint onto `session`. */
export async function openTrainedMethod(opts: {
  session: Session; storage: RunStorage; tasks: Task[]; experiment: Experiment; name: string;
}): Promise<TrainedMethod> {
  const { session, storage, experiment: exp } = opts;
  const ref = exp.methods.find((m) => m.name === opts.name);
  if (!ref) throw new Error(`the run has no method "${opts.name}" (it has ${exp.methods.map((m) => m.name).join(', ')})`);
  const saved = await readCheckpoint(storage, `${ref.name}/${CHECKPOINT_FOLDER}`);
  if (!saved) throw new Error(`${storage.label}: ${ref.name} has no saved state yet; it has not finished a task`);
  const { encoded, seqLen } = encodeTasks(session, opts.tasks, exp.maxLength, exp.chat);
  const tok = session.tokenizer!;
  const ctx: MethodContext = {
    session, tasks: encoded, rng: rngFromState(saved.cp.rng),
    settings: {
      steps: 0, batchSize: exp.batchSize, seqLen, padId: padIdFor(tok), lr: exp.lr, seed: exp.seed,
      lora: { rank: exp.lora.rank, alpha: exp.lora.alpha, dropout: exp.lora.dropout, targets: exp.lora.targets, useRslora: false, layers: null },
    },
    createBank: (spec, from) => session.createBank(spec, from),
    train: async () => {
      throw new Error('the playground does not train');
    },
  };
  const method: ContinualMethod = createMethod(ref.method, ref.options);
  await method.loadState(ctx, saved.cp.stage, saved.state);
  const stage = saved.cp.stage;
  const checkTask = (task: number) => {
    if (!Number.isInteger(task) || task < 0 || task >= encoded.length) throw new Error(`task ${task + 1} is not in this run (it has ${encoded.length})`);
  };
  const trained: TrainedMethod = {
    name: ref.name,
    stage,
    maxNewTokens: exp.maxNewTokens,
    stopIds: tok.stopIds,
    prompt(input, task, instruction) {
      checkTask(task);
      return encodeTaskExample(tok, instruction ?? encoded[task].task.instruction, input, null, exp.maxLength, exp.chat).ids;
    },
    async generate(prompt, task) {
      checkTask(task);
      const routing = await method.route(ctx, Math.min(task, stage), [prompt]);
      session.useBank(routing.bank);
      const [ids] = await session.generate([prompt], { maxNewTokens: exp.maxNewTokens, batchSize: 1, mix: routing.mix });
      const weights = method.attention ? Array.from((await method.attention(ctx, [prompt]))[0]) : mixtureWeights(routing.mix?.[0]);
      return { ids, weights };
    },
    async onnxModel(prompt, task) {
      checkTask(task);
      if (method.routedModelFiles) {
        return { key: `${ref.name}:routed`, description: ROUTED_DESCRIPTION, files: { sapt: await method.routedModelFiles(ctx) }, weights: null };
      }
      const kindReason = perPromptKind(ref.method);
      if (kindReason) return { reason: kindReason };
      const routing = await method.route(ctx, Math.min(task, stage), [prompt]);
      const bankReason = perPromptBank(ref.method, routing.bank);
      if (bankReason) return { reason: bankReason };
      const mixture = fixedMixture(routing.bank, routing.mix?.[0]);
      return {
        key: `${ref.name}:${Array.from(mixture).join(',')}`,
        description: `${FIXED_ADAPTER_METHODS[ref.method]} merged`,
        files: { adapter: await bankMixtureAdapter(routing.bank, mixture, session.config, session.baseModel) },
        weights: mixtureWeights(routing.mix?.[0]),
      };
    },
    text: (ids) => tok.decode(ids, { skipSpecialTokens: true }).trim(),
    async answer(input, task, instruction) {
      const { ids, weights } = await trained.generate(trained.prompt(input, task, instruction), task);
      return { text: trained.text(ids), weights, task, stage, backend: null };
    },
    dispose: () => method.dispose(ctx),
  };
  return trained;
}

/** A mixture over several blocks as the answer's weights; null for a single block or none. */
function mixtureWeights(mix: Float32Array | undefined): number[] | null {
  return mix && mix.length > 1 ? Array.from(mix) : null;
}
