// Reloads a method as a finished run left it (its last checkpoint) and answers new inputs with it,
// reporting how a selecting method (SAPT, ConPET) weighted its task modules for each answer.
import { encodeExample, padIdFor } from '../data/encode.ts';
import { promptFor } from '../data/prompt.ts';
import type { Task } from '../data/task.ts';
import type { Session } from '../engine/session.ts';
import { rngFromState } from '../model/rng.ts';
import type { Experiment } from './experiment.ts';
import { createMethod } from './methods/index.ts';
import type { ContinualMethod, MethodContext } from './methods/method.ts';
import { CHECKPOINT_FOLDER, encodeTasks, readCheckpoint } from './runner.ts';
import type { RunStorage } from './storage.ts';

export interface PlaygroundAnswer {
  text: string;
  /** The selector's weight per task module for this input, for methods that select; else null. */
  weights: number[] | null;
  /** Task index answered as (the instruction used). */
  task: number;
  /** The stage the method was saved after (its last trained task). */
  stage: number;
}

export interface TrainedMethod {
  readonly name: string;
  readonly stage: number;
  /** Greedy answer to `input` under task `task`'s instruction (or `instruction` when given). */
  answer(input: string, task: number, instruction?: string): Promise<PlaygroundAnswer>;
  dispose(): void;
}

/** Loads method `name` of a stored run from its last checkpoint onto `session`. */
export async function openTrainedMethod(opts: {
  session: Session; storage: RunStorage; tasks: Task[]; experiment: Experiment; name: string;
}): Promise<TrainedMethod> {
  const { session, storage, experiment: exp } = opts;
  const ref = exp.methods.find((m) => m.name === opts.name);
  if (!ref) throw new Error(`the run has no method "${opts.name}" (it has ${exp.methods.map((m) => m.name).join(', ')})`);
  const saved = await readCheckpoint(storage, `${ref.name}/${CHECKPOINT_FOLDER}`);
  if (!saved) throw new Error(`${storage.label}: ${ref.name} has no saved state yet; it has not finished a task`);
  const { encoded, seqLen } = encodeTasks(session, opts.tasks, exp.maxLength);
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
  return {
    name: ref.name,
    stage,
    async answer(input, task, instruction) {
      if (!Number.isInteger(task) || task < 0 || task >= encoded.length) throw new Error(`task ${task + 1} is not in this run (it has ${encoded.length})`);
      const prompt = encodeExample(tok, promptFor(tok, instruction ?? encoded[task].task.instruction, input), null, exp.maxLength).ids;
      const routing = await method.route(ctx, Math.min(task, stage), [prompt]);
      session.useBank(routing.bank);
      const [ids] = await session.generate([prompt], { maxNewTokens: exp.maxNewTokens, batchSize: 1, mix: routing.mix });
      const weights = method.attention ? Array.from((await method.attention(ctx, [prompt]))[0]) : routing.mix && routing.mix[0].length > 1 ? Array.from(routing.mix[0]) : null;
      return { text: tok.decode(ids, { skipSpecialTokens: true }).trim(), weights, task, stage };
    },
    dispose: () => method.dispose(ctx),
  };
}
