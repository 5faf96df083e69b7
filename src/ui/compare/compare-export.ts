// The comparison's table as files: CSV (a row per method and metric, with mean, SD, n and each run's value) and JSON
// (the runs, how their tasks were matched, what differs, and every method's summary).
import {
  comparisonNotice, differencesNotice, matchTasks, methodSummaries, runDifferences, type LabelledRun, type MethodSummary, type RunDifference,
} from '../../report/comparison.ts';
import { METRIC_KEYS } from '../../report/tables.ts';
import { toCsv, type CsvValue } from '../results/csv.ts';

/** The first columns of `comparisonCsv`; one column per run follows, headed by the run's label. */
export const COMPARISON_CSV_HEADER = ['method', 'algorithm', 'joint', 'metric', 'mean', 'sd', 'n'] as const;

/** One row per method and metric (AP, F.Ra, BWT, FWT): mean, sample SD and n over the runs with a value, then each run's value (empty where none). */
export function comparisonCsv(runs: readonly LabelledRun[], summaries: readonly MethodSummary[] = methodSummaries(runs)): string {
  const rows: CsvValue[][] = [[...COMPARISON_CSV_HEADER, ...runs.map((r) => r.label)]];
  for (const s of summaries) {
    for (const key of METRIC_KEYS) {
      const m = s.metrics[key];
      rows.push([s.method, s.algorithms.join(' / '), s.joint ? 'yes' : 'no', key, m.mean, m.sd, m.n, ...m.values]);
    }
  }
  return toCsv(rows);
}

/** Where a compared run came from: a run stored in this browser (by id) or a results file (by name). */
export type RunSource = { kind: 'stored'; id: string } | { kind: 'file'; name: string };

/** The comparison as one JSON document (version 1), for scripts: the same numbers as the table and the CSV, and the differences the view lists. */
export function comparisonJson(runs: readonly (LabelledRun & { source: RunSource })[], summaries: readonly MethodSummary[] = methodSummaries(runs),
  differences: readonly RunDifference[] = runDifferences(runs)): string {
  const match = matchTasks(runs);
  return JSON.stringify({
    version: 1,
    runs: runs.map((r) => ({
      label: r.label,
      source: r.source,
      model: r.results.model,
      device: r.results.device,
      seed: r.results.settings.seed,
      tasks: r.results.tasks.map((t) => t.name),
      methods: Object.keys(r.results.methods),
    })),
    tasksMatchedBy: match.byName ? 'name' : 'position',
    tasks: match.names,
    notices: [comparisonNotice(runs), differencesNotice(runs, differences)].filter((n) => n !== null),
    differences,
    methods: summaries,
  }, null, 2);
}
