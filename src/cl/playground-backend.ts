// Answers playground questions with the faster of the engine and onnxruntime-web for methods that export to ONNX (one
// adapter merged, or SAPT's blocks with their router), keeping the engine for the others, for ties and for any
// failure of onnxruntime-web.
import { compareBackends, type BackendName, type Comparison } from '../backends/compare.ts';
import type { TimingOptions } from '../backends/timing.ts';
import type { FileSource } from '../io/files.ts';
import { greedyByFullForward } from '../ort/full-forward-greedy.ts';
import type { LogitsSession, OrtDecoderFactory } from '../ort/ort-decoder.ts';
import { exportAnswerModel } from './method-export.ts';
import type { OnnxAnswerModel, PlaygroundAnswer, TrainedMethod } from './playground.ts';

export const ENGINE_LABEL = 'clora engine';

/** How an answer was produced, for the playground to show. */
export interface AnswerBackendReport {
  backend: BackendName;
  /** The backend that answered, by name ("clora engine", "onnxruntime-web WebGPU"). */
  label: string;
  /** One sentence: why this backend answers (faster, a tie, per-prompt routing, onnxruntime's failure...). */
  reason: string;
  /** Mean milliseconds of one whole greedy answer to the compared question, after a warm-up answer; null when not timed. */
  engineMs: number | null;
  ortMs: number | null;
  /** Milliseconds to load onnxruntime-web, export the merged model and open it; null when it was not tried. */
  ortSetupMs: number | null;
  /** Milliseconds of onnxruntime's warm-up answer (its first run compiles shaders). */
  ortWarmupMs: number | null;
  /** What the model onnxruntime-web ran was exported with ("its one LoRA merged"); null when it did not run. */
  exportedWith: string | null;
  /** The compared question's prompt length and the new-token limit; null when nothing was compared. */
  comparedOn: { promptTokens: number; maxNewTokens: number } | null;
  /** True for the answer to the question the comparison was made on. */
  measuredNow: boolean;
}

export interface PlaygroundBackendOptions {
  /** The model the run trained, exported with the method's adapter merged or its routed blocks. */
  model: FileSource;
  /** onnxruntime-web on the engine's device; rejects (or its decoders fail to open) when it cannot run. */
  ort: () => Promise<OrtDecoderFactory>;
  /** Timing of each backend's answer; default: one warm-up answer, then answers for 500 ms, at most 3. */
  timing?: Partial<TimingOptions>;
}

const DEFAULT_TIMING = { warmup: 1, minMs: 500, maxIters: 3 };

/** Where the first pair of token lists differ, or null when they are the same. */
export function tokenDifference(engine: readonly number[], ort: readonly number[]): string | null {
  const n = Math.min(engine.length, ort.length);
  for (let i = 0; i < n; i++) if (engine[i] !== ort[i]) return `token ${i + 1}: the engine's ${engine[i]}, onnxruntime's ${ort[i]}`;
  if (engine.length !== ort.length) return `the engine gave ${engine.length} tokens, onnxruntime ${ort.length}`;
  return null;
}

/** The outcome of one adapter's comparison, kept for every later answer with that adapter. */
interface Decision {
  report: Omit<AnswerBackendReport, 'measuredNow'>;
  /** Open while onnxruntime answers with this adapter. */
  decoder: LogitsSession | null;
}

function engineOnly(reason: string): AnswerBackendReport {
  return {
    backend: 'engine', label: ENGINE_LABEL, reason, engineMs: null, ortMs: null, ortSetupMs: null, ortWarmupMs: null, exportedWith: null, comparedOn: null, measuredNow: false,
  };
}

/**
 * For a method whose adapter does not depend on the prompt, the first question asked with that adapter exports the
 * model with it merged (src/export); for SAPT, the first question exports the model with its blocks and router (the
 * routing then happens inside the graph, per prompt). The export is opened in onnxruntime-web, a whole greedy answer
 * to that question is timed on both backends (after a warm-up answer each; onnxruntime runs one full forward pass per
 * generated token, having no KV cache) and the faster one is kept for that export. Both must give the same tokens, or
 * the engine is kept; methods that cannot be exported (dynamic ConPET) and any failure of onnxruntime-web also keep
 * the engine, and every answer says which backend gave it and why.
 */
export class PlaygroundAnswerer {
  private readonly decisions = new Map<string, Decision>();

  constructor(readonly trained: TrainedMethod, private readonly opts: PlaygroundBackendOptions) {}

  get name(): string {
    return this.trained.name;
  }

  /** The greedy answer to `input` under task `task`'s instruction, from the backend chosen for its export. */
  async answer(input: string, task: number): Promise<PlaygroundAnswer> {
    const { trained } = this;
    const prompt = trained.prompt(input, task);
    const model = await trained.onnxModel(prompt, task);
    const reply = (ids: number[], weights: number[] | null, backend: AnswerBackendReport): PlaygroundAnswer =>
      ({ text: trained.text(ids), weights, task, stage: trained.stage, backend });
    if ('reason' in model) {
      const { ids, weights } = await trained.generate(prompt, task);
      return reply(ids, weights, engineOnly(`${model.reason}, so the engine answers`));
    }
    let decision = this.decisions.get(model.key);
    if (!decision) {
      const { decision: made, ids, weights } = await this.decide(model, prompt, task);
      this.decisions.set(model.key, made);
      return reply(ids, weights, { ...made.report, measuredNow: true });
    }
    if (decision.decoder) {
      try {
        const { ids, weights } = await this.ortGenerate(decision.decoder, prompt, model);
        return reply(ids, weights, { ...decision.report, measuredNow: false });
      } catch (e) {
        await decision.decoder.release().catch(() => {});
        decision = { decoder: null, report: { ...decision.report, backend: 'engine', label: ENGINE_LABEL, reason: `onnxruntime-web failed on a later answer (${message(e)}), so the engine answers` } };
        this.decisions.set(model.key, decision);
      }
    }
    const { ids, weights } = await trained.generate(prompt, task);
    return reply(ids, weights, { ...decision.report, measuredNow: false });
  }

  /** Releases onnxruntime's sessions and the method's banks. */
  async dispose(): Promise<void> {
    for (const d of this.decisions.values()) await d.decoder?.release().catch(() => {});
    this.decisions.clear();
    this.trained.dispose();
  }

  /** onnxruntime's greedy answer, with the weights over the blocks its export's router gave the prompt (or the model's fixed ones). */
  private async ortGenerate(decoder: LogitsSession, prompt: number[], model: OnnxAnswerModel): Promise<{ ids: number[]; weights: number[] | null }> {
    let routed: number[] | null = null;
    const [ids] = await greedyByFullForward(async (ids, batch, seq, promptMask) => {
      const out = await decoder.logits(ids, batch, seq, promptMask);
      // Every pass routes on the same prompt; the first one's weights are the answer's.
      if (out.routing && routed === null) routed = Array.from(out.routing.data.subarray(0, out.routing.blocks));
      return out;
    }, [prompt], { maxNewTokens: this.trained.maxNewTokens, stopIds: this.trained.stopIds });
    return { ids, weights: routed ?? model.weights };
  }

  /** Opens onnxruntime-web on the model exported with the method's adapter or routed blocks, or returns why it could not. */
  private async openOrt(model: OnnxAnswerModel): Promise<{ decoder: LogitsSession; backend: string; setupMs: number } | Error> {
    const now = this.opts.timing?.now ?? (() => performance.now());
    const t0 = now();
    try {
      const factory = await this.opts.ort();
      const exported = await exportAnswerModel(this.opts.model, model, this.trained.name);
      const decoder = await factory.open(exported.bytes);
      return { decoder, backend: factory.backend, setupMs: now() - t0 };
    } catch (e) {
      return new Error(message(e));
    }
  }

  private async decide(model: OnnxAnswerModel, prompt: number[], task: number): Promise<{ decision: Decision; ids: number[]; weights: number[] | null }> {
    const ort = await this.openOrt(model);
    const weights = { engine: null as number[] | null, ort: null as number[] | null };
    const engineRun = async () => {
      const out = await this.trained.generate(prompt, task);
      weights.engine = out.weights;
      return out.ids;
    };
    const ortRun = ort instanceof Error ? ort : async () => {
      const out = await this.ortGenerate(ort.decoder, prompt, model);
      weights.ort = out.weights;
      return out.ids;
    };
    let comparison: Comparison<number[]>;
    try {
      comparison = await compareBackends(engineRun, ortRun, { ...DEFAULT_TIMING, ...this.opts.timing, differ: tokenDifference });
    } catch (e) {
      if (!(ort instanceof Error)) await ort.decoder.release().catch(() => {});
      throw e;
    }
    const useOrt = comparison.choice.backend === 'onnxruntime' && !(ort instanceof Error);
    if (!useOrt && !(ort instanceof Error)) await ort.decoder.release().catch(() => {});
    const report: Omit<AnswerBackendReport, 'measuredNow'> = {
      backend: useOrt ? 'onnxruntime' : 'engine',
      label: useOrt ? ort.backend : ENGINE_LABEL,
      reason: comparison.choice.reason,
      engineMs: comparison.engine.meanMs,
      ortMs: comparison.ort.ok ? comparison.ort.timing.meanMs : null,
      ortSetupMs: ort instanceof Error ? null : ort.setupMs,
      ortWarmupMs: comparison.ort.ok ? comparison.ort.timing.warmupMs : null,
      exportedWith: comparison.ort.ok ? model.description : null,
      comparedOn: { promptTokens: prompt.length, maxNewTokens: this.trained.maxNewTokens },
    };
    const ids = useOrt && comparison.ort.ok ? comparison.ort.timing.first : comparison.engine.first;
    return { decision: { report, decoder: useOrt ? ort.decoder : null }, ids, weights: useOrt ? weights.ort : weights.engine };
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
