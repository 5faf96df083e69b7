// The list of what is wrong with the methods and settings, shown under the panel while anything needs fixing.
import './run-setup.css';

/** The messages from validateSettings, each naming its field. */
export interface SettingsProblemsProps {
  problems: readonly string[];
}

/** A polite live list (data-testid="settings-problems"); nothing when there are no problems. */
export function SettingsProblems({ problems }: SettingsProblemsProps) {
  if (problems.length === 0) return null;
  return (
    <div className="run-setup-problems" data-testid="settings-problems" aria-live="polite">
      <p className="run-setup-problems-title">
        {problems.length === 1 ? 'One thing to fix before a run can start:' : `${problems.length} things to fix before a run can start:`}
      </p>
      <ul>
        {problems.map((p, i) => (
          <li key={i}>{p}</li>
        ))}
      </ul>
    </div>
  );
}
