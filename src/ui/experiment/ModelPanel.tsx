// Model choice: the bundled demo model (default, offline), model files from this computer, or a Hugging Face
// repository (downloaded once with progress, then cached); shows the model's size and the memory a training step needs.
import { useEffect, useRef, useState } from 'react';
import type { ModelChoice, ModelReport, ModelStatus, TrainingShape } from '../engine-client.ts';
import { ErrorCallout } from '../components/ErrorCallout.tsx';
import { modelLoadProblem } from './model-errors.ts';
import { formatBytes, formatCount } from '../../report/format.ts';
import { DEFAULT_HUB_URL } from '../../worker/model-store.ts';

/** The Hub token is kept in this browser only (localStorage), one per hub address, and sent to that address only. */
const tokenKey = (hubUrl: string) => {
  try {
    return `clora.hub-token:${new URL(hubUrl).origin}`;
  } catch {
    return null;
  }
};
function savedToken(hubUrl: string): string {
  const key = tokenKey(hubUrl);
  try {
    return key ? localStorage.getItem(key) ?? '' : '';
  } catch {
    return '';
  }
}
function saveToken(hubUrl: string, token: string): void {
  const key = tokenKey(hubUrl);
  try {
    if (!key) return;
    if (token) localStorage.setItem(key, token);
    else localStorage.removeItem(key);
  } catch {
    // Storage refused (private mode): the token still works for this load.
  }
}

export interface BundledModel {
  id: string;
  path: string;
  label: string;
  about: string;
}

/** Models served with the app (public/models); the first is the default. */
export const BUNDLED_MODELS: readonly BundledModel[] = [
  {
    id: 'demo',
    path: 'models/demo/',
    label: 'demo (bundled, pretrained)',
    about: 'A 1.3M-parameter Llama pretrained on public-domain English and multilingual text (docs/DEMO-MODEL.md). Small enough to train in a browser without a fast GPU.',
  },
  {
    id: 'tiny-random',
    path: 'models/tiny-random/',
    label: 'tiny-random (bundled, random weights)',
    about: 'A 107k-parameter Llama with random weights: it has learned nothing, but trains in seconds. For trying the app out.',
  },
];
export const DEMO_MODEL = BUNDLED_MODELS[0];

type Source = 'bundled' | 'files' | 'hub';



export interface ModelState {
  choice: ModelChoice | null;
  report: ModelReport | null;
}

export interface ModelPanelProps {
  /** Loads the model in the worker and reports it; `onStatus` streams download or copy progress. */
  describe(choice: ModelChoice, shape: TrainingShape, onStatus: (status: ModelStatus) => void): Promise<ModelReport>;
  shape: TrainingShape;
  value: ModelState;
  onChange(state: ModelState): void;
  disabled?: boolean;
  /** A model to load now (a copied run's, an imported experiment's); each new ticket loads it. */
  request?: { choice: ModelChoice; ticket: number } | null;
}

/**
 * The bundled model an experiment file names, which the app loads by itself: none is the demo model (as in `clora
 * run`), else a bundled model's name or its folder (…/models/<name>); null for anything else (a folder or a Hub id the
 * person loads, or downloads, in the Model panel).
 */
export function choiceForModel(model: string | null): ModelChoice | null {
  if (model === null) return bundledChoice();
  const name = model.replace(/\/+$/, '').split('/').pop() ?? '';
  const bundled = BUNDLED_MODELS.find((m) => m.id === model || (model.includes('models/') && m.id === name));
  return bundled ? bundledChoice(bundled) : null;
}

export function bundledChoice(model: BundledModel = DEMO_MODEL): ModelChoice {
  return { kind: 'bundled', url: new URL(model.path, document.baseURI).href, label: model.label };
}

export function ModelPanel({ describe, shape, value, onChange, disabled, request = null }: ModelPanelProps) {
  const [source, setSource] = useState<Source>('bundled');
  const [bundledId, setBundledId] = useState(DEMO_MODEL.id);
  const bundled = BUNDLED_MODELS.find((m) => m.id === bundledId) ?? DEMO_MODEL;
  const [files, setFiles] = useState<File[]>([]);
  const [repo, setRepo] = useState('');
  const [revision, setRevision] = useState('main');
  const [hubUrl, setHubUrl] = useState(DEFAULT_HUB_URL);
  const [token, setToken] = useState(() => savedToken(DEFAULT_HUB_URL));
  const [busy, setBusy] = useState<ModelStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const autoLoaded = useRef(false);

  // Only the latest load's outcome counts (a requested model may be asked for while the default one still loads).
  const loads = useRef(0);
  const load = async (choice: ModelChoice) => {
    const mine = ++loads.current;
    setBusy({ message: 'Loading the model', loaded: null, total: null });
    setError(null);
    try {
      const report = await describe(choice, shape, setBusy);
      if (mine === loads.current) onChange({ choice: report.kept, report });
    } catch (e) {
      // The model that was loaded stays loaded: a failed download or a bad folder changes nothing.
      if (mine === loads.current) setError(modelLoadProblem(e, choice));
    } finally {
      if (mine === loads.current) setBusy(null);
    }
  };

  // The bundled model is the default: describe it once on first view.
  useEffect(() => {
    if (autoLoaded.current || value.report) return;
    autoLoaded.current = true;
    void load(bundledChoice());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (!request) return;
    autoLoaded.current = true;
    const c = request.choice;
    const bundledPick = c.kind === 'bundled' ? BUNDLED_MODELS.find((m) => c.url.replace(/\/?$/, '/').endsWith(`/${m.path}`)) : undefined;
    if (bundledPick) {
      setSource('bundled');
      setBundledId(bundledPick.id);
    }
    void load(c);
    // Only a new request (a new ticket) loads.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request?.ticket]);

  const choiceFor = (): ModelChoice | null => {
    if (source === 'bundled') return bundledChoice(bundled);
    if (source === 'files') {
      if (files.length === 0) return null;
      const first = files[0] as File & { webkitRelativePath?: string };
      const folder = first.webkitRelativePath?.split('/')[0];
      return { kind: 'files', files: files.map((file) => ({ file, path: (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name })), label: folder || 'model files from this computer' };
    }
    if (!repo.trim()) return null;
    const choice: ModelChoice = { kind: 'hub', repo: repo.trim(), revision: revision.trim() || 'main', hubUrl: hubUrl.trim() || DEFAULT_HUB_URL };
    return token.trim() ? { ...choice, token: token.trim() } : choice;
  };
  const next = choiceFor();

  return (
    <section className="card" data-testid="model-panel" data-state={busy ? 'loading' : error ? 'error' : value.report ? 'ready' : 'empty'} data-loaded={value.report ? 'true' : 'false'} aria-labelledby="model-title">
      <div className="card-header">
        <h2 id="model-title">Model</h2>
        <span className="muted">Llama or Qwen2 in Hugging Face format</span>
      </div>
      <fieldset className="model-sources" disabled={disabled || busy !== null}>
        <label><input type="radio" name="model-source" checked={source === 'bundled'} onChange={() => setSource('bundled')} /> Bundled model (works offline)</label>
        <label><input type="radio" name="model-source" checked={source === 'files'} onChange={() => setSource('files')} /> Files from this computer</label>
        <label><input type="radio" name="model-source" checked={source === 'hub'} onChange={() => setSource('hub')} /> Hugging Face repository</label>
      </fieldset>
      {source === 'bundled' && (
        <div className="field-row">
          <label className="field">
            <span>Bundled model</span>
            <select value={bundledId} onChange={(e) => setBundledId(e.target.value)} data-testid="model-bundled-select" disabled={disabled || busy !== null}>
              {BUNDLED_MODELS.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
            </select>
          </label>
          <p className="muted">{bundled.about}</p>
        </div>
      )}
      {source === 'files' && (
        <div className="field-row">
          <label className="field">
            <span>Model folder</span>
            {/* @ts-expect-error webkitdirectory is not in React's input attributes */}
            <input type="file" webkitdirectory="" multiple data-testid="model-folder-input" onChange={(e) => setFiles([...(e.target.files ?? [])])} />
          </label>
          <label className="field">
            <span>…or config.json, *.safetensors and tokenizer.json together</span>
            <input type="file" multiple accept=".json,.safetensors" data-testid="model-files-input" onChange={(e) => setFiles([...(e.target.files ?? [])])} />
          </label>
          <p className="muted">The files are copied into this browser's storage so that a run can resume after a reload.</p>
        </div>
      )}
      {source === 'hub' && (
        <div className="field-row">
          <label className="field">
            <span>Repository id</span>
            <input type="text" placeholder="HuggingFaceTB/SmolLM2-135M" value={repo} onChange={(e) => setRepo(e.target.value)} data-testid="model-hub-repo" />
          </label>
          <label className="field">
            <span>Revision</span>
            <input type="text" value={revision} onChange={(e) => setRevision(e.target.value)} data-testid="model-hub-revision" />
          </label>
          <label className="field">
            <span>Hub address (a mirror works too)</span>
            <input type="url" value={hubUrl} onChange={(e) => { setHubUrl(e.target.value); setToken(savedToken(e.target.value)); }} data-testid="model-hub-url" />
          </label>
          <label className="field">
            <span>Access token (for gated or private models)</span>
            <input type="password" autoComplete="off" placeholder="hf_…" value={token} onChange={(e) => { setToken(e.target.value); saveToken(hubUrl.trim() || DEFAULT_HUB_URL, e.target.value.trim()); }} data-testid="model-hub-token" />
          </label>
          <p className="muted">
            Downloaded once, then kept in this browser's storage for later visits; an interrupted download continues where it
            stopped. The token stays in this browser and is sent to this hub address only.
          </p>
        </div>
      )}
      <div className="settings-actions">
        <button type="button" className="button button-primary" data-testid="model-load" disabled={disabled || busy !== null || next === null} onClick={() => next && void load(next)}>
          Load model
        </button>
        {busy && (
          <span className="status-line" data-testid="model-busy">
            <span className="spinner" aria-hidden="true" /> {busy.message}
            {busy.loaded !== null ? ` — ${formatBytes(busy.loaded)}${busy.total ? ` of ${formatBytes(busy.total)}` : ''}` : ''}
            {busy.loaded !== null && busy.total ? <progress max={busy.total} value={busy.loaded} data-testid="model-download-progress" /> : null}
          </span>
        )}
      </div>
      {error !== null && (
        <ErrorCallout title="The model could not be loaded" error={error}>
          {value.report ? <p className="muted" data-testid="model-kept">{value.report.label} is still loaded.</p> : null}
        </ErrorCallout>
      )}
      {value.report && <ModelFacts report={value.report} />}
    </section>
  );
}

function ModelFacts({ report }: { report: ModelReport }) {
  const m = report.memory;
  const s = report.sizing;
  return (
    <div data-testid="model-report">
      <dl className="kv kv-compact">
        <dt>Model</dt><dd data-testid="model-label">{report.label}</dd>
        <dt>Architecture</dt><dd>{report.arch}, {report.numLayers} layers, hidden {report.hiddenSize}, vocabulary {formatCount(report.vocabSize)}</dd>
        <dt>Parameters</dt><dd data-testid="model-params">{formatCount(report.numParams)}</dd>
        <dt>Files</dt><dd>{formatBytes(report.fileBytes)} read; {formatBytes(report.gpuBytes)} of weights on the GPU</dd>
        <dt>Training memory</dt>
        <dd data-testid="model-memory">
          about {formatBytes(m.totalBytes)} (weights {formatBytes(m.weightsBytes)}, LoRA with optimizer state {formatBytes(m.loraBytes)}, activations {formatBytes(m.activationBytes)}) at the current batch size and length
          {m.savings.recompute ? ', with each layer’s activations recomputed in the backward pass' : ''}
          {m.savings.lossChunkRows > 0 ? `, the loss in chunks of ${m.savings.lossChunkRows} rows` : ''}
        </dd>
        <dt>Against this GPU</dt>
        <dd data-testid="model-sizing">
          budget {formatBytes(s.budgetBytes)} ({s.budgetFrom === 'setting' ? 'the run’s setting' : 'from the device'}): {s.fits.memory ? 'fits' : 'does not fit'};
          largest binding {formatBytes(s.largestBinding.bytes)}, {s.largestBinding.what}, of at most {formatBytes(s.limits.maxStorageBufferBindingSize)}: {s.fits.binding ? 'fits' : 'does not fit'}
        </dd>
      </dl>
      {s.advice.length > 0 && (
        <div className="callout callout-warning" role="alert" data-testid="model-sizing-advice">
          <p>This training step does not fit this GPU as set. To fit:</p>
          <ul>{s.advice.map((a) => <li key={a}>{a}</li>)}</ul>
        </div>
      )}
    </div>
  );
}
