// Pure formatting helpers of the run history: relative times, status labels and colours, progress, truncation and run actions.
import type { RunRecord, RunStatus } from '../../worker/run-job.ts';

/** Broad kind of a status, also the badge's CSS modifier (`runs-badge-<tone>`). */
export type StatusTone = 'active' | 'warn' | 'muted' | 'ok' | 'error';

/** How a status is shown: its label, tone, colours (theme variables) and a one-line explanation. */
export interface StatusInfo {
  label: string;
  tone: StatusTone;
  /** Text colour, a CSS value. */
  color: string;
  /** Badge background, a CSS value. */
  background: string;
  hint: string;
}

const TONE_COLORS: Readonly<Record<StatusTone, { color: string; background: string }>> = {
  active: { color: 'var(--accent)', background: 'var(--accent-soft)' },
  warn: { color: 'var(--warn)', background: 'var(--warn-soft)' },
  muted: { color: 'var(--text-muted)', background: 'var(--surface-2)' },
  ok: { color: 'var(--ok)', background: 'var(--ok-soft)' },
  error: { color: 'var(--err)', background: 'var(--err-soft)' },
};

const STATUS_BASE: Readonly<Record<RunStatus, { label: string; tone: StatusTone; hint: string }>> = {
  running: { label: 'Running', tone: 'active', hint: 'Training now.' },
  paused: { label: 'Paused', tone: 'warn', hint: 'Paused between two steps; resume to go on.' },
  interrupted: { label: 'Interrupted', tone: 'warn', hint: 'Stopped by a lost GPU device or a closed tab; resume goes on from the last finished task.' },
  cancelled: { label: 'Cancelled', tone: 'muted', hint: 'Cancelled; what was finished is kept and resume goes on from there.' },
  done: { label: 'Done', tone: 'ok', hint: 'Every method finished every task.' },
  failed: { label: 'Failed', tone: 'error', hint: 'Stopped by an error; resume retries from the last finished task.' },
};

/** Every run status, in the order a run usually passes through them. */
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'paused', 'interrupted', 'cancelled', 'done', 'failed'];

/** The label, tone, colours and hint of a status; an unknown status (a newer app's record) reads as itself, muted. */
export function statusInfo(status: RunStatus | string): StatusInfo {
  const base = (STATUS_BASE as Record<string, { label: string; tone: StatusTone; hint: string } | undefined>)[status] ?? {
    label: String(status),
    tone: 'muted' as const,
    hint: 'A status this version of the app does not know.',
  };
  return { ...base, ...TONE_COLORS[base.tone] };
}

/** Statuses whose record carries an error message worth showing. */
export function showsError(run: Pick<RunRecord, 'status' | 'error'>): boolean {
  return (run.status === 'failed' || run.status === 'interrupted') && typeof run.error === 'string' && run.error.trim() !== '';
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A local date as yyyy-mm-dd. */
export function formatDate(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A local date and time as yyyy-mm-dd hh:mm, for tooltips next to relative times. */
export function formatDateTime(ts: number): string {
  if (!Number.isFinite(ts)) return '—';
  const d = new Date(ts);
  return `${formatDate(ts)} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/**
 * How long ago `ts` was at `now`: "just now" within 45 s, then whole minutes, hours, "yesterday", days
 * (under 30), and beyond that the date ("on 2024-03-12"). Times in the future read "in 5 min" and so on.
 */
export function relativeTime(ts: number, now: number): string {
  if (!Number.isFinite(ts) || !Number.isFinite(now)) return '—';
  const diff = now - ts;
  const abs = Math.abs(diff);
  if (abs < 45 * SECOND) return 'just now';
  if (abs >= 30 * DAY) return `on ${formatDate(ts)}`;
  if (abs >= DAY && abs < 2 * DAY) return diff > 0 ? 'yesterday' : 'tomorrow';
  let amount: string;
  if (abs < HOUR) amount = `${Math.max(1, Math.floor(abs / MINUTE))} min`;
  else if (abs < DAY) amount = `${Math.floor(abs / HOUR)} h`;
  else amount = `${Math.floor(abs / DAY)} days`;
  return diff > 0 ? `${amount} ago` : `in ${amount}`;
}

/** The run's progress in whole percent (0..100), 100 for a finished run; null when the record has no number. */
export function progressPercent(run: Pick<RunRecord, 'status' | 'done'>): number | null {
  if (run.status === 'done') return 100;
  if (typeof run.done !== 'number' || !Number.isFinite(run.done)) return null;
  return Math.min(100, Math.max(0, Math.floor(run.done * 100)));
}

/** "42%", or "—" when unknown. */
export function formatPercent(percent: number | null): string {
  return percent === null ? '—' : `${percent}%`;
}

/** Cuts `text` to at most `max` characters, ending in "…" when it was cut. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, Math.max(0, max));
  return `${text.slice(0, max - 1).trimEnd()}…`;
}

/** A list of names shortened for a table cell, and the whole list for its tooltip. */
export interface NameSummary {
  /** At most `maxNames` names, each cut to `maxChars`, then "+N more". */
  text: string;
  /** Every name, comma-separated. */
  full: string;
  count: number;
}

/** Shortens a list of names: "sst2, ag_news, cola +2 more". */
export function summarizeNames(names: readonly string[], maxNames = 3, maxChars = 20): NameSummary {
  const shown = names.slice(0, Math.max(0, maxNames)).map((n) => truncateText(n, maxChars));
  const more = names.length - shown.length;
  const text = shown.join(', ') + (more > 0 ? `${shown.length > 0 ? ' ' : ''}+${more} more` : '');
  return { text, full: names.join(', '), count: names.length };
}

/** The method names a run trains (its settings' method list), in order. */
export function runMethods(run: Pick<RunRecord, 'settings'>): string[] {
  const methods = run.settings?.methods;
  return Array.isArray(methods) ? methods.map((m) => m.name) : [];
}

/** A copy of the runs, newest created first (ties: larger id first). */
export function newestFirst<T extends Pick<RunRecord, 'id' | 'created'>>(runs: readonly T[]): T[] {
  return runs.slice().sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

const RESUMABLE: ReadonlySet<string> = new Set<RunStatus>(['paused', 'interrupted', 'cancelled', 'failed']);

/**
 * Whether a run can be resumed: it stopped before finishing (paused, interrupted, cancelled, failed), is not the run in
 * progress, and no other tab is training it (`heldElsewhere`).
 */
export function canResume(run: Pick<RunRecord, 'id' | 'status'>, activeId: string | null, heldElsewhere = false): boolean {
  return RESUMABLE.has(run.status) && run.id !== activeId && !heldElsewhere;
}

/** Whether a run can be deleted: any run but the one in progress here or in another tab (`heldElsewhere`). */
export function canDelete(run: Pick<RunRecord, 'id'>, activeId: string | null, heldElsewhere = false): boolean {
  return run.id !== activeId && !heldElsewhere;
}

/** What the title of a tab training a run starts with (use-training-title.ts), so that other tabs can name it. */
export const TRAINING_TITLE_PREFIX = 'Training';

/** Why a run held by another tab offers no Resume or Delete here. */
export const HELD_ELSEWHERE = `This run is being trained in another tab or window of this browser (the one whose title starts with “${TRAINING_TITLE_PREFIX}”); pause or cancel it there first`;
