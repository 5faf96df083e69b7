// The UI's view of continual-learning runs: the stored runs, the one in progress with its live progress,
// losses and results, the actions on it, and the automatic resume of a run that a reload interrupted.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { RunProgress, RunResults } from '../../cl/runner.ts';
import type { AppClient, ModelChoice, RunEvent, RunRecord, RunSettings, TaskInput } from '../engine-client.ts';

export interface LivePoint {
  method: string;
  step: number;
  loss: number;
}

export interface ActiveRun {
  record: RunRecord | null;
  progress: RunProgress | null;
  etaSeconds: number | null;
  status: string | null;
  /** Training losses so far, per method in order. */
  losses: LivePoint[];
  results: RunResults | null;
  /** Shown when the run was resumed automatically after a reload. */
  notice: string | null;
}

export interface RunsState {
  runs: RunRecord[];
  /** Runs some tab of this browser is training now (their Web Locks are held), this tab's own included. */
  held: string[];
  active: ActiveRun | null;
  /** The run of the last start/resume, kept after it ends so its results stay on screen. */
  lastId: string | null;
  error: unknown;
}

const EMPTY_ACTIVE: ActiveRun = { record: null, progress: null, etaSeconds: null, status: null, losses: [], results: null, notice: null };

/** Applies one worker event to the live state (pure, so it can be tested). */
export function applyRunEvent(a: ActiveRun, e: RunEvent): ActiveRun {
  switch (e.type) {
    case 'record':
      return { ...a, record: e.record };
    case 'status':
      return { ...a, status: e.loaded != null ? `${e.message} (${Math.round(e.loaded / 1024)} KiB)` : e.message };
    case 'progress': {
      const p = e.progress;
      const losses = p.phase === 'train' && p.loss !== null ? [...a.losses, { method: p.method, step: a.losses.filter((l) => l.method === p.method).length + 1, loss: p.loss }] : a.losses;
      return { ...a, progress: p, etaSeconds: e.etaSeconds, status: null, losses };
    }
    case 'results':
      // A fresh object each time: the worker's object arrives as a structured clone, but keep React's change detection obvious.
      return { ...a, results: { ...e.results } };
  }
}

/** Losses already recorded in stored results, as live points (a resumed run's chart starts from them). */
export function lossesFromResults(r: RunResults | null): LivePoint[] {
  if (!r) return [];
  const out: LivePoint[] = [];
  for (const [method, m] of Object.entries(r.methods)) {
    let step = 0;
    for (const l of m.losses) if (l.phase === 'train') out.push({ method, step: ++step, loss: l.loss });
  }
  return out;
}

/** Whether a tab holds the run's lock, asked a few times: the worker of a page just reloaded may still be shutting down. */
async function heldForAWhile(app: AppClient, id: string): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!(await app.runIsHeld(id))) return false;
    await new Promise((r) => setTimeout(r, 600));
  }
  return true;
}

/** How often a tab asks which runs other tabs are training. */
const HELD_POLL_MS = 1500;

export function useRuns(app: AppClient | null) {
  const [state, setState] = useState<RunsState>({ runs: [], held: [], active: null, lastId: null, error: null });
  const resumedOnce = useRef(false);

  const refresh = useCallback(async () => {
    if (!app) return;
    const runs = await app.listRuns();
    setState((s) => ({ ...s, runs }));
  }, [app]);

  const follow = useCallback(async (start: (onEvent: (e: RunEvent) => void) => Promise<RunRecord>, initial: ActiveRun) => {
    setState((s) => ({ ...s, active: initial, error: null }));
    // Events come through their own message port, so some may arrive after the run's promise settles: drop those.
    let over = false;
    const onEvent = (e: RunEvent) => {
      if (over) return;
      setState((s) => {
        const active = applyRunEvent(s.active ?? EMPTY_ACTIVE, e);
        return { ...s, active, lastId: active.record?.id ?? s.lastId };
      });
    };
    try {
      const record = await start(onEvent);
      setState((s) => ({ ...s, lastId: record.id, active: s.active ? { ...s.active, record } : null }));
    } catch (error) {
      setState((s) => ({ ...s, error }));
    } finally {
      over = true;
      // The finished run's results are read back from storage by whoever shows them (lastId).
      setState((s) => ({ ...s, active: null }));
      await refresh().catch(() => {});
    }
  }, [refresh]);

  const start = useCallback((spec: { title: string; model: ModelChoice; tasks: TaskInput[]; settings: RunSettings }) => {
    if (!app) return;
    void follow((onEvent) => app.startRun(spec, onEvent), { ...EMPTY_ACTIVE, status: 'Starting' });
  }, [app, follow]);

  const resume = useCallback(async (id: string, notice: string | null = null) => {
    if (!app) return;
    const results = await app.readResults(id).catch(() => null);
    void follow((onEvent) => app.resumeRun(id, onEvent), { ...EMPTY_ACTIVE, status: 'Resuming from the last checkpoint', results, losses: lossesFromResults(results), notice });
  }, [app, follow]);

  // Runs trained in other tabs: asked every HELD_POLL_MS, and the list is read again when that set changes (a run
  // started, finished or was deleted there) or while another tab trains (its status and progress move), so this tab
  // never offers Resume or Delete on a run another tab trains.
  useEffect(() => {
    if (!app) return;
    let last = '';
    let stopped = false;
    const poll = async () => {
      const held = (await app.heldRuns().catch(() => null))?.sort() ?? null;
      if (stopped || held === null) return;
      const own = await app.activeRun().catch(() => null);
      const elsewhere = held.some((id) => id !== own);
      if (held.join('\n') === last && !elsewhere) return;
      if (held.join('\n') !== last) {
        last = held.join('\n');
        setState((s) => ({ ...s, held }));
      }
      await refresh().catch(() => {});
    };
    void poll();
    const timer = setInterval(() => void poll(), HELD_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [app, refresh]);

  // After a reload, a run stored as running or paused-by-nobody is not running in this new worker: resume it.
  useEffect(() => {
    if (!app || resumedOnce.current) return;
    resumedOnce.current = true;
    void (async () => {
      try {
        const runs = await app.listRuns();
        setState((s) => ({ ...s, runs }));
        const activeId = await app.activeRun();
        // "running" in storage but held by no tab: the page that ran it was closed or reloaded.
        let orphan: RunRecord | undefined;
        for (const r of runs) {
          if (r.status === 'running' && r.id !== activeId && !(await heldForAWhile(app, r.id))) {
            orphan = r;
            break;
          }
        }
        if (orphan) await resume(orphan.id, `“${orphan.title}” was interrupted when the page closed; it resumes from its last checkpoint.`);
      } catch (error) {
        setState((s) => ({ ...s, error }));
      }
    })();
  }, [app, resume]);

  return {
    ...state,
    refresh,
    start,
    resume: (id: string) => void resume(id),
    pause: async (paused: boolean) => {
      if (!app) return;
      await app.pauseRun(paused);
      setState((s) => (s.active?.record ? { ...s, active: { ...s.active, record: { ...s.active.record, status: paused ? 'paused' : 'running' } } } : s));
    },
    cancel: async () => {
      await app?.cancelRun();
    },
    remove: async (id: string) => {
      if (!app) return;
      await app.deleteRun(id);
      await refresh();
    },
    clearError: () => setState((s) => ({ ...s, error: null })),
  };
}
