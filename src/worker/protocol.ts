// Plain-data types exchanged between the UI thread and the engine worker (all structured-cloneable).

/** What the worker's WebGPU adapter and device report. */
export interface GpuReport {
  adapter: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    /** null when the browser does not say. */
    isFallbackAdapter: boolean | null;
    subgroupMinSize: number | null;
    subgroupMaxSize: number | null;
  };
  /** Features the adapter supports, sorted. */
  adapterFeatures: string[];
  /** Features enabled on the worker's device, sorted. */
  deviceFeatures: string[];
  /** Every limit of the adapter, by name. */
  adapterLimits: Record<string, number>;
  /** Every limit granted to the worker's device, by name. */
  deviceLimits: Record<string, number>;
  /** WGSL language extensions the browser supports, sorted. */
  wgslLanguageFeatures: string[];
  /** Milliseconds the worker spent in requestAdapter + requestDevice. */
  acquireMs: number;
  userAgent: string;
}

/** Settings of one demo run: load a model, run one forward pass, then train LoRA for `steps` steps. */
export interface DemoOptions {
  /** Absolute URL of the model folder (config.json, tokenizer.json, *.safetensors), ending in '/'. */
  modelUrl: string;
  steps: number;
  batchSize: number;
  seqLen: number;
  lr: number;
  rank: number;
  alpha: number;
  targets: string[];
  seed: number;
  /** Training text; the demo cycles through its tokens. */
  text: string;
}

/** Description of the loaded model, as the engine reports it. */
export interface ModelSummary {
  arch: string;
  numParams: number;
  numLayers: number;
  hiddenSize: number;
  vocabSize: number;
  loraParams: number;
}

/** Progress the worker streams to the UI while a demo runs. */
export type DemoEvent =
  | { type: 'phase'; phase: 'engine' | 'loading' | 'forward' | 'training'; message: string; elapsedMs: number }
  | { type: 'loaded'; model: ModelSummary; loadMs: number; elapsedMs: number }
  | {
      type: 'forward';
      tokens: number;
      vocabSize: number;
      /** Mean next-token cross-entropy of the prompt under the untrained model (nats). */
      loss: number;
      /** Token id the model ranks first after the prompt. */
      nextToken: number;
      allFinite: boolean;
      ms: number;
      elapsedMs: number;
    }
  | {
      type: 'step';
      step: number;
      steps: number;
      loss: number;
      stepMs: number;
      /** Training tokens per second over all steps so far. */
      tokensPerSec: number;
      elapsedMs: number;
    };

/** What a finished (or stopped) demo run returns. */
export interface DemoSummary {
  stepsDone: number;
  cancelled: boolean;
  firstLoss: number | null;
  lastLoss: number | null;
  tokensPerSec: number;
  elapsedMs: number;
}
