// Tests that capped reading (count, choose record indices, then keep only those) picks exactly the examples, in the
// same order, that the in-memory algorithm picked before it (shuffle every example, split, shuffle each split and
// slice), for many sizes, seeds, test fractions and caps, for every format and for files with a "split" column.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesSource, type ByteSource } from '../../src/data/byte-source.ts';
import { loadBenchmarkTask, loadTaskFromFile, type LoadOptions } from '../../src/data/load.ts';
import { parseTaskFile, type ParseResult } from '../../src/data/parse.ts';
import { selectFromFile, type SelectOptions } from '../../src/data/select.ts';
import type { Example } from '../../src/data/task.ts';
import { FormatError } from '../../src/io/errors.ts';
import { createRng, shuffled } from '../../src/model/rng.ts';

// The selection as load.ts made it before capped reading, on the whole parsed file: the reference.
function oldCapped<T>(items: T[], max: number | undefined, seed: number): T[] {
  if (max === undefined || items.length <= max) return items;
  return shuffled(items, createRng(seed)).slice(0, max);
}

function oldSelection<T>(items: T[], splits: string[] | null, opts: SelectOptions): { train: T[]; test: T[]; dev: T[] } {
  let parts: { train: T[]; test: T[]; dev: T[] };
  if (splits !== null) {
    parts = { train: [], test: [], dev: [] };
    items.forEach((x, i) => parts[splits[i] as 'train' | 'test' | 'dev'].push(x));
  } else {
    const n = items.length;
    const nTest = Math.min(n - 1, Math.max(1, Math.round(n * (opts.testFraction ?? 0.2))));
    const order = shuffled(items, createRng(opts.seed ?? 0));
    parts = { test: order.slice(0, nTest), train: order.slice(nTest), dev: [] };
  }
  const seed = opts.seed ?? 0;
  return {
    train: oldCapped(parts.train, opts.maxTrain, seed + 1),
    test: oldCapped(parts.test, opts.maxTest, seed + 2),
    dev: oldCapped(parts.dev, opts.maxDev, seed + 3),
  };
}

function oldTask(parsed: ParseResult, opts: SelectOptions) {
  return oldSelection(parsed.examples, parsed.splits, opts);
}

const asList = (a: Int32Array) => Array.from(a);

/** A ByteSource that counts how many times it is read from the start. */
function counted(src: ByteSource): ByteSource & { passes: number } {
  const out = {
    name: src.name,
    size: src.size,
    passes: 0,
    stream() {
      out.passes++;
      return src.stream();
    },
  };
  return out;
}

const SEEDS = [0, 1, 2, 7, 42, -5, 123456789];
const FRACTIONS = [0.01, 0.1, 0.2, 0.5, 0.77, 0.99];

describe('record indices chosen without the examples', () => {
  test('match the in-memory shuffle and caps for n = 2..160, 500, 2001 and every seed, fraction and cap', () => {
    let cases = 0;
    const sizes = [...Array.from({ length: 159 }, (_, i) => i + 2), 500, 2001];
    for (const n of sizes) {
      const items = Array.from({ length: n }, (_, i) => i);
      const caps = [undefined, 1, 2, Math.floor(n / 3) || 1, n - 1 || 1, n, n + 3];
      for (const seed of SEEDS) {
        for (const testFraction of n > 200 ? [0.2, 0.77] : FRACTIONS) {
          for (const maxTrain of n > 200 ? [undefined, 1, 400] : caps) {
            for (const maxTest of n > 200 ? [undefined, 50] : [undefined, 1, caps[3], n]) {
              const opts = { seed, testFraction, maxTrain, maxTest };
              const got = selectFromFile('f.jsonl', n, null, opts);
              const want = oldSelection(items, null, opts);
              assert.deepEqual({ train: asList(got.train), test: asList(got.test), dev: asList(got.dev) }, want, JSON.stringify({ n, ...opts }));
              cases++;
            }
          }
        }
      }
    }
    assert.ok(cases > 30000, `${cases} cases`);
  });

  test('match for a "split" field, each split capped with its own seed', () => {
    const rng = createRng(99);
    for (let trial = 0; trial < 400; trial++) {
      const n = 2 + Math.floor(rng.uniform() * 300);
      const names = ['train', 'test', 'dev'] as const;
      const splits = Array.from({ length: n }, () => names[Math.floor(rng.uniform() * 3)]);
      splits[0] = 'train';
      splits[n - 1] = 'test';
      const cap = () => (rng.uniform() < 0.25 ? undefined : 1 + Math.floor(rng.uniform() * n));
      const opts = { seed: Math.floor(rng.uniform() * 1000) - 500, maxTrain: cap(), maxTest: cap(), maxDev: cap() };
      const got = selectFromFile('s.csv', n, splits, opts);
      const want = oldSelection(Array.from({ length: n }, (_, i) => i), splits, opts);
      assert.deepEqual({ train: asList(got.train), test: asList(got.test), dev: asList(got.dev) }, want, JSON.stringify({ n, ...opts }));
    }
  });

  test('refuse what the in-memory split refused, naming the file', () => {
    assert.throws(() => selectFromFile('one.jsonl', 1, null, {}), (e: unknown) => e instanceof FormatError && /one\.jsonl.*at least 2 examples/.test(e.message));
    assert.throws(() => selectFromFile('s.csv', 2, ['train', 'dev'], {}), /s\.csv.*no example as test/);
    assert.throws(() => selectFromFile('s.csv', 2, ['test', 'dev'], {}), /s\.csv.*no example as train/);
  });
});

// Files whose record count differs from their line count: blank lines, CSV fields with line breaks, a JSON array.
function jsonlFile(n: number, opts: { blanks?: boolean; split?: boolean; instructions?: 'shared' | 'mixed' } = {}): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const rec: Record<string, string> = { input: `question ${i}`, output: `label${i % 4}` };
    if (opts.split) rec.split = i % 5 === 0 ? 'test' : i % 7 === 0 ? 'dev' : 'train';
    // 'mixed': every record has an instruction and one late record differs, so none is shared and all are prepended.
    if (opts.instructions) rec.instruction = opts.instructions === 'mixed' && i === n - 2 ? 'Other.' : 'Classify.';
    lines.push(JSON.stringify(rec));
    if (opts.blanks && i % 3 === 0) lines.push('', '   ');
  }
  return lines.join('\n') + '\n';
}

function csvFile(n: number, split = false): string {
  const rows = [split ? 'text,label,split' : 'text,label'];
  for (let i = 0; i < n; i++) {
    const text = i % 4 === 0 ? `"line one of ${i}\nline two, with a comma\n\nand a blank line"` : `plain ${i}`;
    rows.push(`${text},l${i % 3}${split ? `,${i % 4 === 1 ? 'test' : i % 9 === 0 ? 'validation' : 'train'}` : ''}`);
    if (i % 6 === 0) rows.push('');
  }
  return rows.join('\r\n') + '\r\n';
}

const tsvFile = (n: number) => ['sentence\tlabel', ...Array.from({ length: n }, (_, i) => `tab "${i}" text\t${i % 2}`)].join('\n');
const jsonArrayFile = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ input: `x{${i}}`, output: [`y${i % 3}`, 'alt'] })), null, 1);
const benchmarkFile = (n: number, tag: string) =>
  JSON.stringify({ Definition: ['Answer', 'well.'], Instances: Array.from({ length: n }, (_, i) => ({ input: `${tag} ${i}`, output: [`o${i % 2}`] })) });

describe('capped loading picks the in-memory selection', () => {
  const files: [string, (n: number) => string][] = [
    ['blank.jsonl', (n) => jsonlFile(n, { blanks: true })],
    ['shared.jsonl', (n) => jsonlFile(n, { instructions: 'shared' })],
    ['mixed.jsonl', (n) => jsonlFile(n, { instructions: 'mixed' })],
    ['multiline.csv', (n) => csvFile(n)],
    ['quotes.tsv', tsvFile],
    ['array.json', jsonArrayFile],
  ];
  const optionSets: LoadOptions[] = [
    { maxTrain: 1 },
    { maxTrain: 5, maxTest: 2 },
    { maxTrain: 40, maxTest: 7, seed: 3, testFraction: 0.3 },
    { maxTest: 3, seed: -2 },
    { maxTrain: 1000, maxTest: 1000, seed: 11 },
    { maxTrain: 17, maxTest: 4, maxDev: 2, seed: 5, testFraction: 0.05 },
  ];

  for (const [name, make] of files) {
    test(`${name}: the same examples in the same order, read once when the caps hold the whole file, else twice`, async () => {
      for (const n of [2, 3, 9, 31, 120]) {
        const text = make(n);
        const full = await parseTaskFile(bytesSource(name, text));
        assert.equal(full.examples.length, n);
        for (const opts of optionSets) {
          // Odd chunk sizes put chunk boundaries inside records, quotes and line breaks.
          const src = counted(bytesSource(name, text, 7 + (n % 5)));
          const task = await loadTaskFromFile(src, opts);
          const want = oldTask(full, opts);
          const where = `${name} n=${n} ${JSON.stringify(opts)}`;
          assert.deepEqual({ train: task.train, test: task.test, dev: task.dev }, want, where);
          assert.equal(task.instruction, full.instruction ?? task.instruction, where);
          const hold = (opts.maxTrain ?? 0) + (opts.maxTest ?? 0) + (opts.maxDev ?? 0);
          assert.equal(src.passes, n <= hold ? 1 : 2, where);
        }
      }
    });
  }

  test('a per-record instruction is prepended, or shared, as the whole file decides, even when the deciding record is not kept', async () => {
    const mixed = await loadTaskFromFile(bytesSource('mixed.jsonl', jsonlFile(200, { instructions: 'mixed' })), { maxTrain: 3, maxTest: 2, seed: 1 });
    assert.ok(mixed.train.every((e) => e.input.startsWith('Classify.\n\n') || e.input.startsWith('Other.\n\n')));
    const shared = await loadTaskFromFile(bytesSource('shared.jsonl', jsonlFile(200, { instructions: 'shared' })), { maxTrain: 3, maxTest: 2, seed: 1 });
    assert.equal(shared.instruction, 'Classify.');
    assert.ok(shared.train.every((e) => e.input.startsWith('question ')));
  });

  test('"split" fields in JSONL and CSV: each split capped with its own seed, as in memory', async () => {
    for (const [name, text] of [['s.jsonl', jsonlFile(150, { split: true, blanks: true })], ['s.csv', csvFile(150, true)]] as const) {
      const full = await parseTaskFile(bytesSource(name, text));
      assert.ok(full.splits !== null);
      for (const opts of [{ maxTrain: 9 }, { maxTrain: 9, maxTest: 4, maxDev: 2, seed: 8 }, { maxDev: 1, seed: 2 }, { maxTest: 500 }] as LoadOptions[]) {
        const task = await loadTaskFromFile(bytesSource(name, text, 13), opts);
        assert.deepEqual({ train: task.train, test: task.test, dev: task.dev }, oldTask(full, opts), `${name} ${JSON.stringify(opts)}`);
        assert.ok(task.dev.length > 0);
      }
    }
  });

  test('benchmark folders: each file capped with its split\'s seed, as in memory', async () => {
    const files = { train: benchmarkFile(60, 'tr'), test: benchmarkFile(25, 'te'), dev: benchmarkFile(12, 'dv') };
    const parsed = {
      train: await parseTaskFile(bytesSource('b/train.json', files.train)),
      test: await parseTaskFile(bytesSource('b/test.json', files.test)),
      dev: await parseTaskFile(bytesSource('b/dev.json', files.dev)),
    };
    for (const opts of [{ maxTrain: 10 }, { maxTrain: 10, maxTest: 30, maxDev: 3, seed: 4 }, { maxTest: 1, seed: 9 }] as LoadOptions[]) {
      const sources = {
        train: counted(bytesSource('b/train.json', files.train, 11)),
        test: counted(bytesSource('b/test.json', files.test, 11)),
        dev: counted(bytesSource('b/dev.json', files.dev, 11)),
      };
      const task = await loadBenchmarkTask('b', sources, opts);
      const seed = opts.seed ?? 0;
      assert.deepEqual(task.train, oldCapped(parsed.train.examples, opts.maxTrain, seed + 1));
      assert.deepEqual(task.test, oldCapped(parsed.test.examples, opts.maxTest, seed + 2));
      assert.deepEqual(task.dev, oldCapped(parsed.dev.examples, opts.maxDev, seed + 3));
      assert.equal(task.instruction, 'Answer well.');
      assert.equal(sources.train.passes, opts.maxTrain !== undefined && opts.maxTrain < 60 ? 2 : 1);
      assert.equal(sources.test.passes, opts.maxTest !== undefined && opts.maxTest < 25 ? 2 : 1);
    }
  });
});

describe('what a capped read holds', () => {
  test('a parse with a keep filter holds only the records it keeps, checks and counts every one', async () => {
    const text = jsonlFile(1000, { blanks: true });
    const kept = await parseTaskFile(bytesSource('k.jsonl', text), { keep: (i) => i % 100 === 3 });
    assert.equal(kept.total, 1000);
    assert.deepEqual(kept.indices, Array.from({ length: 10 }, (_, k) => k * 100 + 3));
    assert.deepEqual(kept.examples.map((e) => e.input), kept.indices!.map((i) => `question ${i}`));
    const bad = text.replace('"question 950"', '"question 950" oops');
    await assert.rejects(parseTaskFile(bytesSource('k.jsonl', bad), { keep: () => false }), (e: unknown) => e instanceof FormatError && /k\.jsonl:\d+: malformed JSON line/.test(e.message));
  });

  test('a file that changes between the two passes is refused, naming it', async () => {
    const long = new TextEncoder().encode(jsonlFile(50));
    const short = new TextEncoder().encode(jsonlFile(40));
    let pass = 0;
    const changing: ByteSource = {
      name: 'moving.jsonl',
      size: long.length,
      async *stream() {
        yield pass++ === 0 ? long : short;
      },
    };
    await assert.rejects(loadTaskFromFile(changing, { maxTrain: 2, maxTest: 1 }), /moving\.jsonl: the file changed while it was being read/);
  });

  test('the second pass over a JSONL file parses only the records it keeps', async () => {
    // A source whose second pass has a broken line: it is a record not kept, so it is counted but never parsed.
    const good = jsonlFile(300, { instructions: 'mixed' });
    const broken = good.replace('"question 7"', '"question 7" broken');
    const opts = { maxTrain: 3, maxTest: 2, seed: 4 };
    const task = await loadTaskFromFile(bytesSource('g.jsonl', good), opts);
    const kept = new Set([...task.train, ...task.test].map((e) => e.input));
    assert.ok(![...kept].some((input) => input.endsWith('question 7')));
    let pass = 0;
    const source: ByteSource = {
      name: 'g.jsonl',
      size: good.length,
      async *stream() {
        yield new TextEncoder().encode(pass++ === 0 ? good : broken);
      },
    };
    assert.deepEqual(await loadTaskFromFile(source, opts), task);
    assert.equal(pass, 2);
  });

  test('progress covers both passes and ends at the total', async () => {
    const text = jsonlFile(300);
    const seen: [number, number | null][] = [];
    await loadTaskFromFile(bytesSource('p.jsonl', text, 1024), { maxTrain: 5, maxTest: 5, onProgress: (read, total) => seen.push([read, total]) });
    const size = new TextEncoder().encode(text).length;
    assert.deepEqual(seen.at(-1), [2 * size, 2 * size]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] >= seen[i - 1][0], 'progress never goes back');
  });
});

// Keeps the reference honest: it is the algorithm load.ts ran on whole files, so an uncapped load must agree with it too.
test('an uncapped load agrees with the reference', async () => {
  for (const seed of SEEDS) {
    const text = jsonlFile(57, { blanks: true });
    const task = await loadTaskFromFile(bytesSource('u.jsonl', text), { seed, testFraction: 0.3 });
    const want = oldTask(await parseTaskFile(bytesSource('u.jsonl', text)), { seed, testFraction: 0.3 });
    assert.deepEqual({ train: task.train, test: task.test, dev: task.dev }, want);
  }
  const ex: Example = { input: 'a', output: 'b' };
  assert.deepEqual(oldCapped([ex, ex, ex], 5, 0), [ex, ex, ex]);
});
