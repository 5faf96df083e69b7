// The page shown when the browser offers no WebGPU adapter: what is missing and how to turn WebGPU on.
import type { WebGpuStatus } from '../gpu-detect.ts';

type Failure = Extract<WebGpuStatus, { ok: false }>;

const HEADLINES: Record<Failure['reason'], string> = {
  'insecure-context': 'WebGPU needs a secure page',
  'no-api': 'This browser does not expose WebGPU',
  'no-adapter': 'WebGPU is present, but no GPU adapter is available',
  error: 'WebGPU failed to start',
};

export function WebGpuUnavailable({ status, onRetry }: { status: Failure; onRetry: () => void }) {
  return (
    <main className="page page-narrow" data-testid="webgpu-unavailable">
      <section className="card unavailable">
        <div className="unavailable-badge">WebGPU unavailable</div>
        <h1>{HEADLINES[status.reason]}</h1>
        <p className="lead">
          clora trains a language model on your GPU through WebGPU, so it cannot run here. Nothing was uploaded or
          computed.
        </p>
        <p className="diagnosis" data-testid="webgpu-reason" data-reason={status.reason}>
          <code>{status.detail}</code>
        </p>

        <h2>How to enable WebGPU</h2>
        <ul className="howto">
          <li>
            <strong>Chrome or Edge 113 or newer</strong> on Windows, macOS and ChromeOS have WebGPU on by default.
          </li>
          <li>
            <strong>Chrome on Linux</strong>: open <code>chrome://flags/#enable-unsafe-webgpu</code>, set it to{' '}
            <em>Enabled</em> (on some systems also <code>chrome://flags/#enable-vulkan</code>), then relaunch.
          </li>
          <li>
            <strong>Firefox</strong>: use Firefox Nightly, or a recent release where WebGPU is on for your platform
            (<code>dom.webgpu.enabled</code> in <code>about:config</code>).
          </li>
          <li>
            <strong>Safari</strong>: use Safari Technology Preview or a recent Safari with WebGPU on (Develop → Feature
            Flags → WebGPU).
          </li>
          <li>
            <strong>Hardware acceleration must be on</strong>: in Chrome, Settings → System → “Use graphics acceleration
            when available”. <code>chrome://gpu</code> should list WebGPU as hardware accelerated; a blocklisted GPU or
            an old driver hides the adapter, so update the graphics driver.
          </li>
          <li>
            The page must come from <code>https://</code> or <code>localhost</code>.
          </li>
        </ul>

        <div className="actions">
          <button type="button" className="button button-primary" onClick={onRetry}>
            Check again
          </button>
        </div>

        <details className="callout-details">
          <summary>What this browser reports</summary>
          <pre>
            {[
              `userAgent: ${navigator.userAgent}`,
              `secure context: ${String(globalThis.isSecureContext)}`,
              `navigator.gpu: ${(navigator as Navigator & { gpu?: GPU }).gpu ? 'present' : 'missing'}`,
              `reason: ${status.reason}`,
            ].join('\n')}
          </pre>
        </details>
      </section>
    </main>
  );
}
