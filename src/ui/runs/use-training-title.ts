// The page title of a tab training a run starts with "Training", so that the other tabs, which show the run as
// "training in another tab", can say which tab to go to.
import { useEffect, useRef } from 'react';
import { TRAINING_TITLE_PREFIX } from './run-format.ts';

/** "Training 42% · Sentiment sweep · clora …" while `run` trains (or is paused), the page's own title otherwise. */
export function trainingTitle(base: string, run: { title: string; done: number | null; paused: boolean } | null): string {
  if (!run) return base;
  const pct = run.done === null ? '' : ` ${Math.floor(run.done * 100)}%`;
  return `${TRAINING_TITLE_PREFIX}${pct}${run.paused ? ' (paused)' : ''} · ${run.title} · ${base}`;
}

/** Keeps document.title as trainingTitle says while this tab trains `run`, and restores the page's title after. */
export function useTrainingTitle(run: { title: string; done: number | null; paused: boolean } | null): void {
  const base = useRef<string | null>(null);
  const title = run?.title ?? null;
  const done = run?.done ?? null;
  const paused = run?.paused ?? false;
  useEffect(() => {
    base.current ??= document.title;
    document.title = trainingTitle(base.current, title === null ? null : { title, done, paused });
  }, [title, done, paused]);
  useEffect(() => () => {
    if (base.current !== null) document.title = base.current;
  }, []);
}
