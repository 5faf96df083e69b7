// The colour scheme the page is drawn in (the system's light or dark preference), updated when it changes, so that
// canvases, which copy colours when they draw, can redraw in the new one without a reload.
import { useEffect, useState } from 'react';

const QUERY = '(prefers-color-scheme: dark)';

export type ColorScheme = 'light' | 'dark';

/** 'dark' or 'light' now, and again on every change of the system preference. */
export function useColorScheme(): ColorScheme {
  const media = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(QUERY) : null;
  const [scheme, setScheme] = useState<ColorScheme>(media?.matches ? 'dark' : 'light');
  useEffect(() => {
    if (!media) return;
    const onChange = (e: MediaQueryListEvent) => setScheme(e.matches ? 'dark' : 'light');
    media.addEventListener('change', onChange);
    setScheme(media.matches ? 'dark' : 'light');
    return () => media.removeEventListener('change', onChange);
    // One listener for the page's lifetime of the component; `media` is the same query each render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return scheme;
}
