// Shows the WebGPU adapter and device the engine worker obtained: identity, key features and key limits.
import type { GpuReport } from '../engine-client.ts';
import { formatBytes, formatInt, formatMs } from '../../report/format.ts';
import { ErrorCallout } from './ErrorCallout.tsx';

export type AdapterState = { status: 'loading' } | { status: 'ready'; report: GpuReport } | { status: 'error'; error: unknown };

const KEY_FEATURES: { name: string; why: string }[] = [
  { name: 'subgroups', why: 'fast reductions (softmax, norms, loss)' },
  { name: 'shader-f16', why: 'half-precision arithmetic' },
  { name: 'timestamp-query', why: 'per-kernel GPU timings' },
];

const KEY_LIMITS: { name: string; bytes?: boolean }[] = [
  { name: 'maxBufferSize', bytes: true },
  { name: 'maxStorageBufferBindingSize', bytes: true },
  { name: 'maxComputeWorkgroupStorageSize', bytes: true },
  { name: 'maxComputeInvocationsPerWorkgroup' },
  { name: 'maxComputeWorkgroupSizeX' },
  { name: 'maxComputeWorkgroupsPerDimension' },
  { name: 'maxStorageBuffersPerShaderStage' },
  { name: 'maxBindGroups' },
];

export function AdapterPanel({ state }: { state: AdapterState }) {
  return (
    <section className="card" data-testid="adapter-panel" data-state={state.status} aria-labelledby="adapter-title">
      <header className="card-header">
        <h2 id="adapter-title">WebGPU adapter</h2>
        <span className="tag" title="The adapter and device are requested by the engine worker, not the page">
          from the worker
        </span>
      </header>
      {state.status === 'loading' ? (
        <p className="muted">
          <span className="spinner" aria-hidden="true" /> Asking the engine worker for an adapter and a device…
        </p>
      ) : state.status === 'error' ? (
        <ErrorCallout title="The worker could not get a WebGPU device" error={state.error} />
      ) : (
        <AdapterDetails report={state.report} />
      )}
    </section>
  );
}

function AdapterDetails({ report }: { report: GpuReport }) {
  const { adapter } = report;
  const subgroup =
    adapter.subgroupMinSize !== null && adapter.subgroupMaxSize !== null
      ? adapter.subgroupMinSize === adapter.subgroupMaxSize
        ? String(adapter.subgroupMinSize)
        : `${adapter.subgroupMinSize}–${adapter.subgroupMaxSize}`
      : '–';
  const otherFeatures = report.adapterFeatures.filter((f) => !KEY_FEATURES.some((k) => k.name === f));
  return (
    <>
      <div className="adapter-identity">
        <div className="adapter-name" data-testid="adapter-name">
          {[adapter.vendor, adapter.architecture].filter(Boolean).join(' · ') || 'Unnamed adapter'}
        </div>
        {adapter.isFallbackAdapter ? (
          <span className="tag tag-warn" title="A software (CPU) implementation: correct but slow">
            software fallback
          </span>
        ) : null}
      </div>

      <dl className="kv">
        <dt>Vendor</dt>
        <dd data-testid="adapter-vendor">{adapter.vendor || '–'}</dd>
        <dt>Architecture</dt>
        <dd data-testid="adapter-architecture">{adapter.architecture || '–'}</dd>
        <dt>Device</dt>
        <dd>{adapter.device || '–'}</dd>
        <dt>Description</dt>
        <dd>{adapter.description || '–'}</dd>
        <dt>Subgroup size</dt>
        <dd>{subgroup}</dd>
        <dt>Device ready in</dt>
        <dd>{formatMs(report.acquireMs)}</dd>
      </dl>

      <h3>Key features</h3>
      <ul className="feature-list" data-testid="key-features">
        {KEY_FEATURES.map(({ name, why }) => {
          const supported = report.adapterFeatures.includes(name);
          const enabled = report.deviceFeatures.includes(name);
          return (
            <li key={name} className={supported ? 'feature feature-on' : 'feature feature-off'} data-feature={name} data-supported={supported}>
              <span className="feature-mark" aria-hidden="true">
                {supported ? '✓' : '✕'}
              </span>
              <code>{name}</code>
              <span className="muted feature-why">
                {supported ? (enabled ? why : `${why} (not enabled)`) : 'not supported'}
              </span>
            </li>
          );
        })}
      </ul>

      <h3>Key limits</h3>
      <table className="limits" data-testid="key-limits">
        <tbody>
          {KEY_LIMITS.map(({ name, bytes }) => {
            const value = report.deviceLimits[name];
            const adapterValue = report.adapterLimits[name];
            const show = (v: number) => (bytes ? formatBytes(v) : formatInt(v));
            return (
              <tr key={name}>
                <th scope="row">
                  <code>{name}</code>
                </th>
                <td>
                  {value === undefined ? '–' : show(value)}
                  {adapterValue !== undefined && value !== undefined && adapterValue !== value ? (
                    <span className="muted"> (adapter {show(adapterValue)})</span>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>

      {otherFeatures.length > 0 ? (
        <details className="more">
          <summary>
            All features ({report.adapterFeatures.length}) and WGSL extensions ({report.wgslLanguageFeatures.length})
          </summary>
          <ul className="chips">
            {report.adapterFeatures.map((f) => (
              <li key={f} className="chip">
                {f}
              </li>
            ))}
          </ul>
          <ul className="chips">
            {report.wgslLanguageFeatures.map((f) => (
              <li key={f} className="chip chip-alt">
                {f}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
}
