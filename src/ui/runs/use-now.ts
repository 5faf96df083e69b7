// A React hook giving the current time, refreshed on an interval so relative times ("5 min ago") stay current.
import { useEffect, useState } from 'react';

/** `Date.now()`, re-read every `intervalMs` (default 30 s) while the component is mounted. */
export function useNow(intervalMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
