// A time shown relative to now ("5 min ago"), with the exact date and time as its tooltip.
import { formatDateTime, relativeTime } from './run-format.ts';

/** A `<time>` element; `now` comes from the parent (see useNow) so a table re-renders its times together. */
export function RelativeTime({ ts, now, prefix }: { ts: number; now: number; prefix?: string }) {
  const iso = Number.isFinite(ts) ? new Date(ts).toISOString() : undefined;
  return (
    <time dateTime={iso} title={formatDateTime(ts)}>
      {prefix ? `${prefix} ` : ''}
      {relativeTime(ts, now)}
    </time>
  );
}
