// A React hook that loads a run's stored results for the playground, caching them per run and ignoring stale loads.
import { useEffect, useRef, useState } from 'react';
import type { RunResults } from '../../cl/runner.ts';

/** Where the results of the chosen run stand. */
export type ResultsState =
  | { status: 'none' }
  | { status: 'loading'; runId: string }
  | { status: 'ready'; runId: string; results: RunResults | null }
  | { status: 'error'; runId: string; error: unknown };

/**
 * Loads `runId`'s results with `load` (the latest function is used, so an inline callback is fine).
 * `version` (e.g. the record's `updated`) reloads a run whose files changed; otherwise a run's results
 * are read once and kept.
 */
export function useRunResults(runId: string | null, version: number, load: (id: string) => Promise<RunResults | null>): ResultsState {
  const loadRef = useRef(load);
  loadRef.current = load;
  const cache = useRef(new Map<string, { version: number; results: RunResults | null }>());
  const [state, setState] = useState<ResultsState>({ status: 'none' });

  useEffect(() => {
    if (runId === null) {
      setState({ status: 'none' });
      return;
    }
    const hit = cache.current.get(runId);
    if (hit && hit.version === version) {
      setState({ status: 'ready', runId, results: hit.results });
      return;
    }
    let live = true;
    setState({ status: 'loading', runId });
    loadRef.current(runId).then(
      (results) => {
        if (results) cache.current.set(runId, { version, results });
        if (live) setState({ status: 'ready', runId, results });
      },
      (error: unknown) => {
        if (live) setState({ status: 'error', runId, error });
      },
    );
    return () => {
      live = false;
    };
  }, [runId, version]);

  // A state left from the previous run reads as loading until the effect has caught up.
  if (runId === null) return { status: 'none' };
  if (state.status === 'none' || state.runId !== runId) return { status: 'loading', runId };
  return state;
}
