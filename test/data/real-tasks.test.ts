// Tests the real-data task builder: loadable balanced tasks, disjoint splits, reproducible files and a pretraining text free of test inputs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadTaskFromFile } from '../../src/data/load.ts';
import { nodeFileSource } from '../../src/data/node-byte-source.ts';
import { loadTasksFromPaths } from '../../src/data/node-load.ts';
import type { Task } from '../../src/data/task.ts';
import { assertNoTestLeak, buildRealTasks, occurringIn, TEST_INPUTS_FILE, writeRealTasks } from '../../scripts/data/build-tasks.ts';
import { emailSubjectAndBody } from '../../scripts/data/email-text.ts';
import { brownSentence, sentencesOf } from '../../scripts/data/sources.ts';

/** The label sets the builder documents, per task file stem. */
const EXPECTED_LABELS: Record<string, string[]> = {
  'amazon-sentiment': ['positive', 'negative'],
  'imdb-sentiment': ['positive', 'negative'],
  'yelp-sentiment': ['positive', 'negative'],
  'spam-email': ['spam', 'ham'],
  'wordnet-category': ['animal', 'artifact', 'body', 'food', 'location', 'person', 'plant', 'substance'],
  'brown-genre': ['news', 'religion', 'government', 'romance', 'humor'],
  'udhr-language': ['english', 'french', 'german', 'spanish', 'italian', 'dutch', 'portuguese', 'swedish'],
};

const SEED = 7;
const MAX_TRAIN = 40;
const MAX_TEST = 16;

interface ManifestTask {
  name: string;
  file: string;
  instruction: string;
  labels: string[];
  train: number;
  test: number;
  source: { package: string; packageLicense: string; dataLicense: string };
}

const sorted = (xs: readonly string[]) => xs.slice().sort();

/** Runs the command-line builder and resolves when it exits successfully. */
function runCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/data/build-tasks.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build-tasks exited with ${code}: ${err}`))));
  });
}

describe('real-data task stream', () => {
  let root: string;
  let dirA: string;
  let dirB: string;
  let manifest: { tasks: ManifestTask[]; testInputs: { file: string; count: number } };
  let tasks: Task[];
  let pretrain: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'clora-real-tasks-'));
    dirA = join(root, 'a');
    dirB = join(root, 'b');
    // The second build runs as the command line in another process, alongside the first.
    const cli = runCli(['--out', dirB, '--seed', String(SEED), '--max-train', String(MAX_TRAIN), '--max-test', String(MAX_TEST), '--pretrain-out', join(dirB, 'pretrain.txt')]);
    const result = buildRealTasks({ seed: SEED, maxTrain: MAX_TRAIN, maxTest: MAX_TEST });
    writeRealTasks(dirA, result, join(dirA, 'pretrain.txt'));
    await cli;
    manifest = JSON.parse(readFileSync(join(dirA, 'manifest.json'), 'utf8'));
    tasks = await loadTasksFromPaths(manifest.tasks.map((t) => join(dirA, t.file)));
    pretrain = readFileSync(join(dirA, 'pretrain.txt'), 'utf8');
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  test('at least six tasks with the documented, distinct label sets', () => {
    assert.ok(manifest.tasks.length >= 6);
    assert.deepEqual(
      manifest.tasks.map((t) => t.name),
      Object.keys(EXPECTED_LABELS),
    );
    for (const t of manifest.tasks) assert.deepEqual(t.labels, EXPECTED_LABELS[t.name], t.name);
    assert.ok(new Set(manifest.tasks.map((t) => sorted(t.labels).join('|'))).size >= 5);
  });

  test('every file parses with the project loader, with its split field, instruction and labels', async () => {
    for (const [i, m] of manifest.tasks.entries()) {
      const t = tasks[i];
      assert.equal(t.name, m.name);
      assert.equal(t.instruction, m.instruction);
      assert.ok(m.labels.every((l) => m.instruction.includes(l)), `${m.name}: the instruction lists the labels`);
      assert.deepEqual(t.labels, sorted(m.labels), m.name);
      assert.equal(t.train.length, m.train, m.name);
      assert.equal(t.test.length, m.test, m.name);
      assert.equal(t.dev.length, 0);
      assert.ok(m.train >= m.labels.length && m.test >= m.labels.length, `${m.name}: every label on both sides`);
      assert.ok(m.train <= MAX_TRAIN && m.test <= MAX_TEST, `${m.name}: caps`);
      assert.ok(m.source.package && m.source.packageLicense && m.source.dataLicense, `${m.name}: source and licence`);
    }
    // The single-file entry point gives the same task.
    const first = await loadTaskFromFile(nodeFileSource(join(dirA, manifest.tasks[0].file)));
    assert.deepEqual(first, tasks[0]);
  });

  test('no empty or overlong examples, and train and test are disjoint', () => {
    for (const t of tasks) {
      for (const ex of [...t.train, ...t.test]) {
        assert.ok(ex.input.length > 0 && ex.output.length > 0, t.name);
        assert.ok(ex.input.length <= 400, `${t.name}: input of ${ex.input.length} characters`);
        assert.ok(!/\s{2}|[\n\r\t]/.test(ex.input), `${t.name}: whitespace is collapsed`);
      }
      const train = new Set(t.train.map((e) => e.input));
      assert.equal(train.size, t.train.length, `${t.name}: distinct train inputs`);
      assert.equal(new Set(t.test.map((e) => e.input)).size, t.test.length, `${t.name}: distinct test inputs`);
      assert.ok(t.test.every((e) => !train.has(e.input)), `${t.name}: a test input is also a train input`);
    }
  });

  test('classes are balanced in each split', () => {
    for (const t of tasks) {
      for (const split of [t.train, t.test]) {
        const counts = new Map<string, number>();
        for (const e of split) counts.set(e.output, (counts.get(e.output) ?? 0) + 1);
        assert.equal(counts.size, t.labels!.length, t.name);
        const n = [...counts.values()];
        assert.ok(Math.max(...n) - Math.min(...n) <= Math.max(1, Math.ceil(0.1 * Math.max(...n))), `${t.name}: ${JSON.stringify([...counts])}`);
      }
    }
  });

  test('the same seed gives byte-identical files, from the module and from the command line', () => {
    const files = readdirSync(dirA).sort();
    assert.deepEqual(readdirSync(dirB).sort(), files);
    for (const f of [...manifest.tasks.map((t) => t.file), 'manifest.json', 'README.md', TEST_INPUTS_FILE, 'pretrain.txt']) assert.ok(files.includes(f), f);
    for (const f of files) assert.ok(readFileSync(join(dirA, f)).equals(readFileSync(join(dirB, f))), `${f} differs between builds`);
  });

  test('no test input occurs in the pretraining text, and test-inputs.txt lists them all', () => {
    const testInputs = [...new Set(tasks.flatMap((t) => t.test.map((e) => e.input)))].sort();
    const listed = readFileSync(join(dirA, TEST_INPUTS_FILE), 'utf8').split('\n').filter((l) => l !== '');
    assert.deepEqual(sorted(listed), testInputs);
    assert.equal(manifest.testInputs.count, testInputs.length);
    assert.ok(pretrain.length > 1_000_000, 'a pretraining text of some size');
    for (const s of testInputs) assert.ok(!pretrain.includes(s), `test input in the pretraining text: ${s}`);
    // Nothing of the sentiment or email tasks, and none of the genre task's excerpts, is in it.
    for (const t of tasks.filter((x) => /sentiment|spam|brown/.test(x.name))) {
      assert.ok(!t.train.slice(0, 5).some((e) => pretrain.includes(e.input)), t.name);
    }
  });

  test('the README documents sources, licences and counts', () => {
    const readme = readFileSync(join(dirA, 'README.md'), 'utf8');
    for (const m of manifest.tasks) {
      assert.ok(readme.includes(`| ${m.name} | ${m.file} | ${m.labels.join(', ')} | ${m.train} | ${m.test} |`), m.name);
      assert.ok(readme.includes(m.source.package), m.source.package);
    }
    for (const licence of ['CC BY 4.0', 'PDDL 1.0', 'CC0 1.0', 'Princeton University', 'redistribution permitted', 'copyright-free']) {
      assert.ok(readme.includes(licence), licence);
    }
  });
});

describe('builder helpers', () => {
  test('the multi-pattern search agrees with includes, and a leak is refused', () => {
    const text = 'The jury said it did find that many of the laws are outmoded.\nNot good at all.\nabc';
    const patterns = ['many of the laws', 'Not good', 'not good', 'abc', 'bc', 'outmoded.\nNot', 'laws are outmoded!', 'x'];
    assert.deepEqual(sorted([...occurringIn(patterns, text)]), sorted(patterns.filter((p) => text.includes(p))));
    assert.throws(() => assertNoTestLeak(['Not good'], text), /1 test input/);
    assert.doesNotThrow(() => assertNoTestLeak(['Very good'], text));
  });

  test('emails lose headers, MIME structure and HTML', () => {
    const raw = [
      'From someone  Mon Jun 24 17:03:49 2002',
      'Subject: =?iso-8859-1?Q?Caf=E9_offer?=',
      '  today only',
      'Content-Type: multipart/alternative; boundary="XYZ"',
      '',
      '--XYZ',
      'Content-Type: text/html; charset=us-ascii',
      '',
      '<html><body><p>HTML&nbsp;part</p></body></html>',
      '--XYZ',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Plain   part with\n\n a line ==========').toString('base64'),
      '--XYZ--',
      '',
    ].join('\n');
    assert.deepEqual(emailSubjectAndBody(raw), { subject: 'Café offer today only', body: 'Plain part with a line ===' });
    const html = 'Subject: Hi\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<style>p{}</style><b>Big =\nsale</b> &amp; more';
    assert.deepEqual(emailSubjectAndBody(html), { subject: 'Hi', body: 'Big sale & more' });
  });

  test('Brown sentences lose their tags and UDHR paragraphs split into sentences', () => {
    assert.equal(brownSentence('``/`` Only/rb a/at handful/nn ,/, \'\'/\'\' the/at jury/nn said/vbd ./.'), '"Only a handful," the jury said.');
    assert.equal(brownSentence('He/pps said/vbd (/( twice/rb )/) ./.'), 'He said (twice).');
    assert.deepEqual(sentencesOf('Everyone has rights. No one shall be held. ¿Qué?', 300), ['Everyone has rights.', 'No one shall be held.', '¿Qué?']);
    assert.ok(sentencesOf('word '.repeat(200), 50).every((s) => s.length <= 50));
  });
});
