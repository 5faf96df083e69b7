// The `clora` command: runs the engine headless in Node on the machine's GPU (or a CPU Vulkan driver).
// JSON goes to stdout; diagnostics and errors go to stderr as one clear line.
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeGpu } from '../gpu/node-device.ts';
import { dirSource } from '../io/node-files.ts';
import { packSequences } from '../engine/batch.ts';
import { DEFAULT_LORA, Session } from '../engine/session.ts';
import { deviceMemoryOf } from '../gpu/device-memory.ts';
import { PROJ_NAMES, type ProjName } from '../model/peft.ts';
import { formatSizing, sizeTrainingStep } from '../model/step-sizing.ts';
import { openModelArg } from './model-arg.ts';
import { EXPORT_HELP, exportCommand } from './export-command.ts';
import { negativeValues } from './command-io.ts';
import { metricsCommand } from './metrics-command.ts';
import { REPORT_HELP, reportCommand } from './report-command.ts';
import { RUN_HELP, runCommand } from './run-command.ts';

const HELP = `clora: continual LoRA fine-tuning of Llama-family models on WebGPU

Usage:
  clora forward [--model DIR|ID] [--adapter DIR] [--compute f16] --ids 3,17,5 [--json]
      Prints {"logits": [[...one float per vocabulary entry] for each position]}.
  clora grad [--model DIR|ID] --adapter DIR [--compute f16] --ids 3,17,5 --labels=-100,17,5 [--json]
      Prints {"loss": L, "grads": {"<PEFT key>": [row-major floats], ...}} for every lora_A and
      lora_B tensor. Labels follow the Hugging Face causal-LM convention: same length as ids,
      -100 ignored, the logits at position t predict labels[t+1]. Dropout is not applied.
  clora info [--model DIR|ID] [--adapter DIR] [--batch N] [--seq N] [--rank N] [--targets all|q,v,...] [--memory-budget MIB]
      Prints the model's configuration, parameter counts, the WebGPU adapter and "sizing": what a
      training step of that shape needs (weights, LoRA with optimizer state, activations, the
      largest binding) against the device's limits and memory budget, and what to change when it
      does not fit (also on stderr, as text). Defaults: batch 8, seq 256, the adapter's LoRA or
      r 8 on q_proj and v_proj, the budget from the device.
${EXPORT_HELP}
${RUN_HELP}
  clora metrics --matrix FILE [--single FILE] [--json]
      Prints {"tasks": T, "ap", "fra", "bwt", "fwt", "final": [...], "forgetting": [...]} for a
      continual-learning run. a[k][t] = score on task t after training task k (tasks 1..T):
        AP   = (1/T) sum_t a[T][t]
        F.Ra = (1/(T-1)) sum_{t<T} (max_{t<=k<T} a[k][t] - a[T][t])   ("forgetting" per task)
        BWT  = (1/(T-1)) sum_{t<T} (a[T][t] - a[t][t])
        FWT  = (1/T) sum_t (a[t][t] - s_t)
      F.Ra and BWT are null for T = 1, FWT without --single. Scores keep the file's unit.
      Needs no GPU.
${REPORT_HELP}

Options:
  --model DIR|ID  A Hugging Face model folder: config.json, model.safetensors (or sharded with
                  model.safetensors.index.json), optionally tokenizer.json; or a Hub id
                  org/name[@revision] (branch, tag or commit), fetched into the Hugging Face cache
                  and read from there offline (docs/HUB.md). A folder of that name wins. Default:
                  the bundled demo model (public/models/demo, see docs/DEMO-MODEL.md).
  --adapter DIR   A PEFT LoRA adapter folder: adapter_config.json, adapter_model.safetensors.
  --sapt DIR      export: a SAPT run's model folder (OUT/sapt of clora run, or OUT/<name> for a named SAPT): router_config.json,
                  router.safetensors and adapters/<task>/ for every block.
  --out PATH      export: the .onnx file to write (its folder is created when missing); run and
                  report: the output folder.
  --labels LIST   grad: comma-separated labels, one per id (-100: ignored)
                  because the list starts with a dash.
  --compute P     forward, grad: the base projections' forward arithmetic: f32 (default), or f16
                  (products in f16 summed in f32; needs a device with shader-f16).
  --ids LIST      Comma-separated token ids.
  --matrix FILE   A JSON array of T rows of T scores: row k = scores on every task after training
                  task k, null where not evaluated (the diagonal and the last row are required).
  --single FILE   A JSON array of T scores s_t, each of a LoRA trained on task t alone.
  --json          Output JSON (the default and only format).
  -h, --help      Show this help.

The GPU is found through Dawn's Vulkan backend. Without one, clora falls back to a Vulkan driver on
the CPU and says so on stderr: lavapipe when set up (bash scripts/lavapipe.sh; several times faster,
and it has shader-f16), else SwiftShader (from Debian's chromium package).
Environment: CLORA_ADAPTER=gpu|lavapipe|swiftshader, or a comma-separated list of them, picks which
to try, in order (default auto: gpu,lavapipe,swiftshader). CLORA_LAVAPIPE_ICD=FILE names another
lavapipe ICD manifest (default .cache/lavapipe/lvp_icd.json). CLORA_BINDING_LIMIT=BYTES (e.g.
4KiB, 96MiB) lowers the binding size the embedding, the LM head and the logits are sliced to (tests).
Hub models follow huggingface_hub: HF_ENDPOINT (a mirror), HF_TOKEN (else the token file in HF_HOME),
HF_HOME / HF_HUB_CACHE (the cache, shared with Python tools), HF_HUB_OFFLINE=1 (cache only).`;

class UsageError extends Error {}

function parseIds(text: string | undefined, flag: string): number[] {
  if (text === undefined) throw new UsageError(`missing ${flag}`);
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new UsageError(`${flag} is empty`);
  return parts.map((p) => {
    const v = Number(p);
    if (!Number.isInteger(v)) throw new UsageError(`${flag}: "${p}" is not an integer`);
    return v;
  });
}

function writeJson(value: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(JSON.stringify(value) + '\n', (err) => (err ? reject(err) : resolve()));
  });
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'run') {
    const res = await runCommand(argv.slice(1), (message) => new UsageError(message));
    if (!res) {
      process.stdout.write(HELP + '\n');
      return;
    }
    const summary: Record<string, unknown> = {};
    for (const [name, m] of Object.entries(res.methods)) summary[name] = { metrics: m.metrics, final: m.final, matrix: m.matrix };
    await writeJson({ tasks: res.tasks.map((t) => t.name), singleTask: res.singleTask, methods: summary, seconds: res.seconds });
    return;
  }
  if (argv[0] === 'export') {
    const out = await exportCommand(argv.slice(1), (message) => new UsageError(message), (note) => process.stderr.write(`clora export: ${note}\n`));
    if (out) await writeJson(out);
    else process.stdout.write(HELP + '\n');
    return;
  }
  if (argv[0] === 'metrics' || argv[0] === 'report') {
    const command = argv[0] === 'metrics' ? metricsCommand : reportCommand;
    const out = command(argv.slice(1), (message) => new UsageError(message));
    if (out) await writeJson(out);
    else process.stdout.write(HELP + '\n');
    return;
  }
  const options = {
    model: { type: 'string' },
    adapter: { type: 'string' },
    ids: { type: 'string' },
    labels: { type: 'string' },
    compute: { type: 'string' },
    batch: { type: 'string' },
    seq: { type: 'string' },
    rank: { type: 'string' },
    targets: { type: 'string' },
    'memory-budget': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const { values, positionals } = parseArgs({
    // `--labels -100,5`: a negative number is the option's value, not an option.
    args: negativeValues(argv, options),
    allowPositionals: true,
    options,
  });
  const command = positionals[0];
  if (values.help || !command || command === 'help') {
    process.stdout.write(HELP + '\n');
    return;
  }
  if (!['forward', 'grad', 'info'].includes(command)) throw new UsageError(`unknown command "${command}" (try clora --help)`);
  if (command === 'grad' && !values.adapter) throw new UsageError('grad needs --adapter DIR');
  const compute = values.compute ?? 'f32';
  if (compute !== 'f32' && compute !== 'f16') throw new UsageError(`--compute: "${compute}" is not f32 or f16`);

  const ids = command === 'info' ? [] : parseIds(values.ids, '--ids');
  const labels = command === 'grad' ? parseIds(values.labels, '--labels') : null;
  if (labels && labels.length !== ids.length) throw new UsageError(`--labels has ${labels.length} entries but --ids has ${ids.length}`);

  if (values.adapter !== undefined && !(existsSync(values.adapter) && statSync(values.adapter).isDirectory())) throw new UsageError(`--adapter: ${values.adapter} is not a folder`);
  const model = await openModelArg(values.model, '--model', { usageError: (m) => new UsageError(m) });

  const gpu = await createNodeGpu();
  const session = await Session.open(gpu, model.source, {
    baseModel: model.base,
    adapter: values.adapter ? dirSource(values.adapter) : undefined,
    baseOnly: !values.adapter,
    compute,
  });
  try {
    if (command === 'info') {
      const sizing = infoSizing(session, values);
      for (const line of formatSizing(sizing, sizing.shape)) process.stderr.write(`clora info: ${line}\n`);
      await writeJson({ config: session.config, info: session.info, lora: session.lora, adapter: gpu.adapter, sizing });
    } else if (command === 'forward') {
      const [logits] = await session.forward(packSequences([ids]));
      const V = session.config.vocabSize;
      const rows: number[][] = [];
      for (let t = 0; t < ids.length; t++) rows.push(Array.from(logits.subarray(t * V, (t + 1) * V)));
      await writeJson({ logits: rows });
    } else {
      const { loss, grads } = await session.gradients(packSequences([ids], [labels!]));
      const out: Record<string, number[]> = {};
      for (const [key, g] of grads) out[key] = Array.from(g.data);
      await writeJson({ loss, grads: out });
    }
  } finally {
    session.destroy();
    gpu.device.destroy();
  }
}

/** `clora info`'s sizing of a training step: the shape from the flags, else the adapter's LoRA, else the defaults. */
function infoSizing(session: Session, v: { batch?: string; seq?: string; rank?: string; targets?: string; 'memory-budget'?: string }) {
  const count = (flag: string, s: string | undefined, fallback: number) => {
    if (s === undefined) return fallback;
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag}: "${s}" is not a positive whole number`);
    return n;
  };
  const lora = session.lora ?? DEFAULT_LORA;
  let targets: ProjName[] = [...lora.targets];
  if (v.targets !== undefined) {
    targets = v.targets === 'all' ? [...PROJ_NAMES]
      : v.targets.split(',').map((t) => t.trim()).filter(Boolean).map((t) => (t.endsWith('_proj') ? t : `${t}_proj`)) as ProjName[];
    const bad = targets.filter((t) => !PROJ_NAMES.includes(t));
    if (bad.length > 0 || targets.length === 0) throw new UsageError(`--targets: "${v.targets}" is not "all" or a list of ${PROJ_NAMES.join(', ')}`);
  }
  const budget = v['memory-budget'] === undefined ? 'auto' as const : count('memory-budget', v['memory-budget'], 1) * 2 ** 20;
  const shape = {
    batchSize: count('batch', v.batch, 8), seqLen: count('seq', v.seq, 256), rank: count('rank', v.rank, lora.rank), targets,
    blocks: 1, dropout: lora.dropout, weightsBytes: session.info.weightBytes, memory: { ...session.memory, budgetBytes: budget },
  };
  return { shape: { batchSize: shape.batchSize, seqLen: shape.seqLen, rank: shape.rank, targets }, ...sizeTrainingStep(session.config, { ...shape, device: deviceMemoryOf(session.gpu) }) };
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`clora: error: ${msg}\n`);
    process.exit(err instanceof UsageError || (err as { code?: string })?.code?.startsWith?.('ERR_PARSE_ARGS') ? 2 : 1);
  },
);
