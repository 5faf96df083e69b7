// Publishes the real-data runs: writes `clora report`'s comparison of both task orders into docs/results/<set>, each
// order's results.json beside its report, and prints the tables that README.md, docs/RESULTS.md and BENCHMARKS.md
// quote. Two sets are published: every method at db92f5d (experiments/run-real-stream.sh) and the merging methods
// beside the oracle and SeqLoRA on later code (experiments/run-real-stream-merge.sh).
// test/docs/published-results.test.ts checks that the docs still match.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { comparisonFiles, meanOfAll, runFolders, type LabelledRun } from '../../src/report/comparison.ts';
import { escapeMarkdown, markdownTable, oneDecimal } from '../../src/report/markdown.ts';
import { matrixTable, reportFiles, routingTable, wallTimeTable, type ReportFile } from '../../src/report/report.ts';
import { parseRunResultsText } from '../../src/report/results-file.ts';
import { methodNames } from '../../src/report/series.ts';
import { METRIC_KEYS, METRIC_TITLES, metricsRows } from '../../src/report/tables.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A published comparison: where it goes (relative to the repository), its title, and its runs in order (their label, and the folder of experiments/out that the set's script writes). */
export interface PublishedSet {
  dir: string;
  title: string;
  orders: readonly { label: string; run: string }[];
}

/** Every method on the code of db92f5d (experiments/run-real-stream.sh). */
export const ALL_METHODS: PublishedSet = {
  dir: 'docs/results/real-stream',
  title: 'Real-data stream, demo model',
  orders: [
    { label: 'order 1', run: 'real-stream' },
    { label: 'order 2', run: 'real-stream-reversed' },
  ],
};

/**
 * The merging methods beside the oracle and SeqLoRA, a later run on later code (experiments/run-real-stream-merge.sh).
 * Published so far: order 1 (docs/RESULTS.md); order 2 (real-stream-merge-reversed) is to be added here when it has run.
 */
export const MERGING: PublishedSet = {
  dir: 'docs/results/real-stream-merge',
  title: 'Real-data stream with merging, demo model',
  orders: [
    { label: 'order 1', run: 'real-stream-merge' },
  ],
};

export const SETS: Readonly<Record<string, PublishedSet>> = { all: ALL_METHODS, merging: MERGING };

/** The first set's folder and title (kept for callers that knew only one set). */
export const PUBLISHED_DIR = ALL_METHODS.dir;
export const TITLE = ALL_METHODS.title;
export const ORDERS = ALL_METHODS.orders;

export interface PublishedRun extends LabelledRun {
  /** results.json exactly as the run wrote it. */
  text: string;
}

/** The runs' results.json files as published, in order (the folders the comparison report gives the runs). */
export function publishedResultsFiles(set: PublishedSet = ALL_METHODS): string[] {
  return runFolders(set.orders.map((o) => ({ label: o.label }))).map((folder) => join(ROOT, set.dir, folder, 'results.json'));
}

/** The results.json files, labelled as the set's orders in turn. */
export function readRuns(files: readonly string[], set: PublishedSet = ALL_METHODS): PublishedRun[] {
  return files.map((file, i) => {
    const text = readFileSync(file, 'utf8');
    return { label: set.orders[i].label, text, results: parseRunResultsText(text, file) };
  });
}

/**
 * The published folder's files: the comparison report (report.md, order-k/ reports and figures) and each run's
 * results.json in its folder. A set with one finished order so far gets that order's report alone, in its folder.
 */
export function publishedFiles(runs: readonly PublishedRun[], set: PublishedSet = ALL_METHODS): ReportFile[] {
  const folders = runFolders(runs);
  const reports = runs.length === 1
    ? reportFiles(runs[0].results, { title: `${set.title}: ${runs[0].label}` }).map((f) => ({ ...f, name: `${folders[0]}/${f.name}` }))
    : comparisonFiles(runs, set.title);
  return [...reports, ...runs.map((r, i) => ({ name: `${folders[i]}/results.json`, content: r.text }))];
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

/**
 * The floors every score is read against: each task's chance (100 / labels) and majority-label score (always answering
 * the test split's most common label), with their means, the AP of those two ways of answering. A task's floors are
 * the same in every run (its split does not depend on the order); a run whose floors differ is refused.
 */
export function baselinesTable(runs: readonly LabelledRun[]): string {
  const first = runs[0].results;
  const rows = first.tasks.map((t) => {
    for (const r of runs) {
      const other = r.results.tasks.find((o) => o.name === t.name);
      if (!other?.baselines || !t.baselines) throw new Error(`${r.label}: task ${t.name} has no recorded baselines (a run made before they were recorded)`);
      if (other.baselines.majority !== t.baselines.majority || other.baselines.chance !== t.baselines.chance) {
        throw new Error(`${r.label}: task ${t.name}'s baselines differ from ${runs[0].label}'s`);
      }
    }
    const b = t.baselines!;
    return { name: t.name, labels: t.labels?.length ?? null, chance: b.chance, majority: b.majority, label: b.majorityLabel };
  });
  const table = rows.map((r) => [escapeMarkdown(r.name), r.labels === null ? '' : String(r.labels), oneDecimal(r.chance),
    `${oneDecimal(r.majority)}${r.label ? ` (${escapeMarkdown(r.label)})` : ''}`]);
  table.push(['mean (AP)', '', oneDecimal(meanOfAll(rows.map((r) => r.chance))), oneDecimal(meanOfAll(rows.map((r) => r.majority)))]);
  return markdownTable(['Task', 'Labels', 'Chance', 'Majority label'], table);
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
  const { values } = parseArgs({ options: {
    set: { type: 'string', default: 'all' }, from: { type: 'string', default: 'experiments/out' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) {
    process.stdout.write(`node --import tsx scripts/results/publish-real-stream.ts [--set ${Object.keys(SETS).join('|')}] [--from experiments/out] [--out DIR]\n` +
      Object.entries(SETS).map(([name, s]) => `  --set ${name}: writes ${s.dir} (or --out) from FROM/{${s.orders.map((o) => o.run).join(',')}}/results.json\n`).join('') +
      'and prints the tables for README.md, docs/RESULTS.md and BENCHMARKS.md.\n');
    return;
  }
  const set = SETS[values.set!];
  if (!set) throw new Error(`--set ${values.set}: expected one of ${Object.keys(SETS).join(', ')}`);
  const runs = readRuns(set.orders.map((o) => join(resolve(values.from!), o.run, 'results.json')), set);
  for (const f of publishedFiles(runs, set)) {
    const path = join(resolve(ROOT, values.out ?? set.dir), f.name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
  }
  const floors = runs.every((r) => r.results.tasks.every((t) => t.baselines)) ? `<!-- docs/RESULTS.md: floors -->\n${baselinesTable(runs)}\n\n` : '';
  process.stdout.write(`<!-- README.md -->\n${summaryTable(runs)}\n\n${floors}<!-- BENCHMARKS.md -->\n${detailSections(runs)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
