// Publishes the real-data runs (experiments/run-real-stream.sh): writes `clora report`'s comparison of both task
// orders into docs/results/real-stream, each order's results.json beside its report, and prints the tables that
// README.md and BENCHMARKS.md quote. test/docs/published-results.test.ts checks that the docs still match.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { comparisonFiles, meanOfAll, runFolders, type LabelledRun } from '../../src/report/comparison.ts';
import { escapeMarkdown, markdownTable, oneDecimal } from '../../src/report/markdown.ts';
import { matrixTable, routingTable, wallTimeTable, type ReportFile } from '../../src/report/report.ts';
import { parseRunResultsText } from '../../src/report/results-file.ts';
import { methodNames } from '../../src/report/series.ts';
import { METRIC_KEYS, METRIC_TITLES, metricsRows } from '../../src/report/tables.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the published report goes, relative to the repository. */
export const PUBLISHED_DIR = 'docs/results/real-stream';
export const TITLE = 'Real-data stream, demo model';
/** The runs in order: their label, and the folder of experiments/out that run-real-stream.sh writes. */
export const ORDERS = [
  { label: 'order 1', run: 'real-stream' },
  { label: 'order 2', run: 'real-stream-reversed' },
] as const;

export interface PublishedRun extends LabelledRun {
  /** results.json exactly as the run wrote it. */
  text: string;
}

/** The runs' results.json files as published, in order (the folders the comparison report gives the runs). */
export function publishedResultsFiles(): string[] {
  return runFolders(ORDERS.map((o) => ({ label: o.label }))).map((folder) => join(ROOT, PUBLISHED_DIR, folder, 'results.json'));
}

export function readRuns(files: readonly string[]): PublishedRun[] {
  return files.map((file, i) => {
    const text = readFileSync(file, 'utf8');
    return { label: ORDERS[i].label, text, results: parseRunResultsText(text, file) };
  });
}

/** The published folder's files: the comparison report (report.md, order-k/ reports and figures) and each run's results.json in its folder. */
export function publishedFiles(runs: readonly PublishedRun[]): ReportFile[] {
  const folders = runFolders(runs);
  return [...comparisonFiles(runs, TITLE), ...runs.map((r, i) => ({ name: `${folders[i]}/results.json`, content: r.text }))];
}

/** Each method's AP per run and its mean, and the means of F.Ra, BWT and FWT: the README's table. */
export function summaryTable(runs: readonly LabelledRun[]): string {
  const perRun = runs.map((r) => new Map(metricsRows(r.results).map((row) => [row.method, row])));
  const rows = methodNames(runs[0].results).map((method) => {
    const values = (key: (typeof METRIC_KEYS)[number]) => perRun.map((m) => m.get(method)?.[key] ?? null);
    return [
      escapeMarkdown(method),
      ...values('ap').map(oneDecimal),
      ...METRIC_KEYS.map((key) => oneDecimal(meanOfAll(values(key)))),
    ];
  });
  const header = ['Method', ...runs.map((r) => `AP ${escapeMarkdown(r.label)}`), ...METRIC_KEYS.map((k) => `${METRIC_TITLES[k]} mean`)];
  return markdownTable(header, rows);
}

/** Every method's score matrix in every run, the selector weights of routed methods, and each run's wall time: BENCHMARKS.md's tables. */
export function detailSections(runs: readonly LabelledRun[]): string {
  const out: string[] = [];
  for (const method of methodNames(runs[0].results)) {
    out.push(`#### ${escapeMarkdown(method)}`, '');
    for (const r of runs) out.push(`${escapeMarkdown(r.label)}:`, '', matrixTable(r.results, method), '');
  }
  for (const r of runs) {
    for (const method of methodNames(r.results)) {
      const routing = routingTable(r.results, method);
      if (routing) out.push(`Selector weights of ${escapeMarkdown(method)}, ${escapeMarkdown(r.label)}, after task ${routing.stage + 1}:`, '', routing.table, '');
    }
  }
  for (const r of runs) out.push(`Wall time, ${escapeMarkdown(r.label)}:`, '', wallTimeTable(r.results), '');
  return out.join('\n');
}

function main(): void {
  const { values } = parseArgs({ options: { from: { type: 'string', default: 'experiments/out' }, out: { type: 'string', default: PUBLISHED_DIR }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`node --import tsx scripts/results/publish-real-stream.ts [--from experiments/out] [--out ${PUBLISHED_DIR}]\n` +
      `Writes OUT/ (default ${PUBLISHED_DIR}) from FROM/{${ORDERS.map((o) => o.run).join(',')}}/results.json and prints the tables for README.md and BENCHMARKS.md.\n`);
    return;
  }
  const runs = readRuns(ORDERS.map((o) => join(resolve(values.from!), o.run, 'results.json')));
  for (const f of publishedFiles(runs)) {
    const path = join(resolve(ROOT, values.out!), f.name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
  }
  process.stdout.write(`<!-- README.md -->\n${summaryTable(runs)}\n\n<!-- BENCHMARKS.md -->\n${detailSections(runs)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
