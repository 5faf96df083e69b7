// Catches render errors anywhere below it and shows them instead of leaving a blank page.
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { ErrorCallout } from './ErrorCallout.tsx';

interface State {
  error: unknown;
}

export interface ErrorBoundaryProps {
  children: ReactNode;
  /** What to show instead of the children after an error (a view's own message); default: the page-wide message with Reload. */
  fallback?: (error: unknown) => ReactNode;
}

export class ErrorBoundary extends Component<ErrorBoundaryProps, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error('clora UI error', error, info.componentStack);
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    if (this.props.fallback) return this.props.fallback(this.state.error);
    return (
      <main className="page">
        <ErrorCallout title="Something went wrong in the page" error={this.state.error}>
          <button type="button" className="button" onClick={() => location.reload()}>
            Reload
          </button>
        </ErrorCallout>
      </main>
    );
  }
}
