// The app shell: detects WebGPU, then shows the worker's adapter and the demo, or explains how to enable WebGPU.
import { useEffect, useState, type ReactNode } from 'react';
import { AdapterPanel, type AdapterState } from './components/AdapterPanel.tsx';
import { DemoPanel } from './components/DemoPanel.tsx';
import { WebGpuUnavailable } from './components/WebGpuUnavailable.tsx';
import { createEngineClient, type EngineClient } from './engine-client.ts';
import { detectWebGpu, type WebGpuStatus } from './gpu-detect.ts';

export function App() {
  const [gpu, setGpu] = useState<WebGpuStatus | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let live = true;
    setGpu(null);
    void detectWebGpu().then((status) => {
      if (live) setGpu(status);
    });
    return () => {
      live = false;
    };
  }, [attempt]);

  let body: ReactNode;
  if (gpu === null) {
    body = (
      <main className="page page-narrow" data-testid="checking">
        <p className="muted centered">
          <span className="spinner" aria-hidden="true" /> Checking for WebGPU…
        </p>
      </main>
    );
  } else if (!gpu.ok) {
    body = <WebGpuUnavailable status={gpu} onRetry={() => setAttempt((n) => n + 1)} />;
  } else {
    body = <Workbench />;
  }
  return (
    <div className="app">
      <TopBar />
      {body}
      <footer className="footer">Runs entirely in this browser tab: the model, the training and your data stay on this machine.</footer>
    </div>
  );
}

function TopBar() {
  return (
    <header className="topbar">
      <div className="brand">
        <img src="favicon.svg" alt="" width={24} height={24} />
        <span className="brand-name">clora</span>
      </div>
      <span className="brand-tagline">continual LoRA fine-tuning on WebGPU</span>
    </header>
  );
}

/** The main view once WebGPU is there: one engine worker shared by the panels. */
function Workbench() {
  const [client, setClient] = useState<EngineClient | null>(null);
  const [adapter, setAdapter] = useState<AdapterState>({ status: 'loading' });

  useEffect(() => {
    let live = true;
    const engine = createEngineClient();
    setClient(engine);
    setAdapter({ status: 'loading' });
    engine.probe().then(
      (report) => {
        if (live) setAdapter({ status: 'ready', report });
      },
      (error: unknown) => {
        if (!live) return;
        console.error('engine worker probe failed', error);
        setAdapter({ status: 'error', error });
      },
    );
    return () => {
      live = false;
      engine.dispose();
      setClient(null);
    };
  }, []);

  return (
    <main className="page workbench">
      <AdapterPanel state={adapter} />
      <DemoPanel client={adapter.status === 'error' ? null : client} />
    </main>
  );
}
