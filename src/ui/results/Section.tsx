// A titled card of the results and comparison views, with an optional note under its title.
import type { ReactNode } from 'react';
import './results.css';

export function Section({ title, note, children, testId }: { title: string; note?: ReactNode; children: ReactNode; testId?: string }) {
  return (
    <section className="card results-section" data-testid={testId}>
      <header className="card-header">
        <h2>{title}</h2>
      </header>
      {note ? <p className="muted results-section-note">{note}</p> : null}
      {children}
    </section>
  );
}
