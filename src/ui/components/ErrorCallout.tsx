// A visible, readable error box: a title, the error's message and, folded away, its stack.
import type { ReactNode } from 'react';

export interface ErrorCalloutProps {
  title: string;
  error: unknown;
  /** 'warning' for expected conditions (e.g. a feature not built yet), 'error' otherwise. */
  tone?: 'error' | 'warning';
  /** Replaces the error's own message in the box (the original stays in Details). */
  message?: string;
  children?: ReactNode;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

export function ErrorCallout({ title, error, tone = 'error', message, children }: ErrorCalloutProps) {
  const stack = error instanceof Error ? error.stack || `${error.name}: ${error.message}` : undefined;
  return (
    <div className={`callout callout-${tone}`} role="alert" data-testid="error-callout">
      <div className="callout-title">{title}</div>
      <p className="callout-message">{message ?? errorMessage(error)}</p>
      {children}
      {stack ? (
        <details className="callout-details">
          <summary>Details</summary>
          <pre>{stack}</pre>
        </details>
      ) : null}
    </div>
  );
}
