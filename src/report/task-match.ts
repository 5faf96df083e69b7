// Which task of each compared run goes with which: by name when the runs name the same tasks (in any order), else by position.
import type { RunResults } from '../cl/runner.ts';

export interface LabelledRun {
  /** How the run is named in the tables and its folder ("order 1"). */
  label: string;
  results: RunResults;
}

/** How the tasks of the runs are put together (runs of the same number of tasks; see `comparisonProblem`). */
export interface TaskMatch {
  /**
   * True when every run has the same task names (in any order): the j-th matched task is the first run's task j and
   * each run's task of that name. False when names differ: task j of each run, by position.
   */
  byName: boolean;
  /** index[j][r]: the 0-based index, in run r's order, of the j-th matched task. */
  index: number[][];
  /** names[j][r]: that task's name in run r. */
  names: string[][];
}

const sortedNames = (r: LabelledRun) => r.results.tasks.map((t) => t.name).slice().sort().join('\u0000');

/** Matches the runs' tasks by name when every run names the same tasks, else by position. */
export function matchTasks(runs: readonly LabelledRun[]): TaskMatch {
  const byName = runs.every((r) => sortedNames(r) === sortedNames(runs[0]));
  const index = runs[0].results.tasks.map((task, j) => runs.map((r) => (byName ? r.results.tasks.findIndex((t) => t.name === task.name) : j)));
  return { byName, index, names: index.map((row) => row.map((t, r) => runs[r].results.tasks[t].name)) };
}
