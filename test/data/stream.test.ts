// Tests incremental reading: large generated files pulled in 64 KiB chunks, the line splitter and the UTF-8 checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ByteSource } from '../../src/data/byte-source.ts';
import { bytesSource, fileByteSource } from '../../src/data/byte-source.ts';
import { parseTaskFile } from '../../src/data/parse.ts';
import { firstInvalidUtf8, forEachLine, Utf8ChunkDecoder } from '../../src/data/text-stream.ts';
import { createRng } from '../../src/model/rng.ts';

const CHUNK = 64 * 1024;

/**
 * A source that generates `records` records on the fly in chunks of at most CHUNK bytes and records how far the
 * consumer has pulled, so a test can tell whether the parser read incrementally.
 */
function generatedSource(name: string, header: string, footer: string, records: number, record: (i: number) => string) {
  const stats = { pulls: 0, maxChunk: 0, bytes: 0, done: false };
  const enc = new TextEncoder();
  const source: ByteSource = {
    name,
    size: null,
    async *stream() {
      let pending: Uint8Array[] = [enc.encode(header)];
      let pendingBytes = pending[0].length;
      const flush = function* () {
        const all = new Uint8Array(pendingBytes);
        let at = 0;
        for (const p of pending) all.set(p, (at += p.length) - p.length);
        for (let o = 0; o < all.length; o += CHUNK) {
          const c = all.subarray(o, Math.min(all.length, o + CHUNK));
          stats.pulls++;
          stats.maxChunk = Math.max(stats.maxChunk, c.length);
          stats.bytes += c.length;
          yield c;
        }
        pending = [];
        pendingBytes = 0;
      };
      for (let i = 0; i < records; i++) {
        const b = enc.encode(record(i));
        pending.push(b);
        pendingBytes += b.length;
        if (pendingBytes >= CHUNK) yield* flush();
      }
      pending.push(enc.encode(footer));
      pendingBytes += footer.length;
      yield* flush();
      stats.done = true;
    },
  };
  return { source, stats };
}

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
const filler = 'lorem ipsum dolor sit amet, consectetur adipiscing elit — ünïcödé ✓ '.repeat(2);

describe('large files are read incrementally', () => {
  test('a ~50 MB JSONL file is consumed in 64 KiB chunks with progress along the way', async () => {
    const n = 300_000;
    const { source, stats } = generatedSource('big.jsonl', '', '', n, (i) => JSON.stringify({ text: `${i} ${filler}`, label: LABELS[i % 4] }) + '\n');
    const progress: { read: number; pullsSoFar: number; done: boolean }[] = [];
    const r = await parseTaskFile(source, { onProgress: (read) => progress.push({ read, pullsSoFar: stats.pulls, done: stats.done }) });
    assert.ok(stats.bytes > 50e6, `generated ${stats.bytes} bytes`);
    assert.equal(r.examples.length, n);
    assert.deepEqual(r.examples[12345], { input: `12345 ${filler}`.trim(), output: LABELS[12345 % 4] });
    assert.ok(stats.maxChunk <= CHUNK);
    // One progress report per chunk, each made while the source had handed out only that chunk.
    assert.equal(progress.length, stats.pulls);
    assert.ok(progress.length > 700, `${progress.length} progress reports`);
    assert.ok(progress.every((p, i) => p.pullsSoFar === i + 1 && !p.done));
    assert.equal(progress.at(-1)!.read, stats.bytes);
  });

  test('a large JSON array and a large CSV file are also consumed chunk by chunk', async () => {
    const n = 60_000;
    const json = generatedSource('big.json', '{"Definition": ["Classify."],\n"Instances": [\n', ']}\n', n, (i) =>
      (i ? ',\n' : '') + JSON.stringify({ id: i, input: `${i} ${filler}`, output: [LABELS[i % 4]] }),
    );
    const jsonProgress: number[] = [];
    const rj = await parseTaskFile(json.source, { onProgress: () => jsonProgress.push(json.stats.pulls) });
    assert.equal(rj.examples.length, n);
    assert.equal(rj.instruction, 'Classify.');
    assert.deepEqual(rj.examples[n - 1], { input: `${n - 1} ${filler}`.trim(), output: LABELS[(n - 1) % 4] });
    assert.ok(jsonProgress.length > 100 && jsonProgress.every((p, i) => p === i + 1));

    const csv = generatedSource('big.csv', 'label,text\n', '', n, (i) => `${LABELS[i % 4]},"${i} ""${filler}"""\n`);
    const csvProgress: number[] = [];
    const rc = await parseTaskFile(csv.source, { onProgress: () => csvProgress.push(csv.stats.pulls) });
    assert.equal(rc.examples.length, n);
    assert.deepEqual(rc.examples[7], { input: `7 "${filler}"`.trim(), output: LABELS[3] });
    assert.ok(csvProgress.length > 100 && csvProgress.every((p, i) => p === i + 1));
  });

  test('an error deep in a large file names its line and stops reading there', async () => {
    const n = 100_000;
    const bad = 76_543;
    const { source, stats } = generatedSource('big.jsonl', '', '', n, (i) => JSON.stringify({ input: `${i} ${filler}`, output: i === bad ? '' : 'x' }) + '\n');
    await assert.rejects(parseTaskFile(source), { name: 'FormatError', message: `big.jsonl:${bad + 1}: empty answer` });
    assert.equal(stats.done, false);
  });
});

describe('line splitter', () => {
  test('gives every line with its number whatever the chunking, with or without a final newline', async () => {
    for (const text of ['a\nbb\r\n\nccc', 'a\nbb\r\n\nccc\n', '\uFEFFx\n', '', '\n']) {
      const expected = text.replace(/^\uFEFF/, '').split('\n');
      if (expected.at(-1) === '') expected.pop();
      for (const chunk of [1, 2, 5, 100]) {
        const got: [string, number][] = [];
        await forEachLine(bytesSource('t.txt', text, chunk), (s, n) => got.push([s, n]));
        assert.deepEqual(
          got,
          expected.map((s, i) => [s.replace(/\r$/, ''), i + 1]),
          `${JSON.stringify(text)} in chunks of ${chunk}`,
        );
      }
    }
  });

  test('reads a browser File through its stream', async () => {
    const file = new File(['{"input": "a", "output": "b"}\n', '{"input": "c", "output": "d"}\n'], 'picked.jsonl');
    const r = await parseTaskFile(fileByteSource(file));
    assert.deepEqual(r.examples, [
      { input: 'a', output: 'b' },
      { input: 'c', output: 'd' },
    ]);
    await assert.rejects(parseTaskFile(fileByteSource(new File(['{"input": "a", "output": ""}\n'], 'p.jsonl'))), { message: 'p.jsonl:1: empty answer' });
  });
});

describe('UTF-8 checks', () => {
  test('firstInvalidUtf8 agrees with a fatal TextDecoder on random bytes', () => {
    const rng = createRng(7);
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const pool = [0x00, 0x0a, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];
    for (let trial = 0; trial < 5000; trial++) {
      const len = 1 + (rng.nextU32() % 12);
      const bytes = Uint8Array.from({ length: len }, () => pool[rng.nextU32() % pool.length]);
      const at = firstInvalidUtf8(bytes);
      let valid = true;
      try {
        strict.decode(bytes);
      } catch {
        valid = false;
      }
      if (valid) {
        assert.equal(at, -1, `valid ${[...bytes]} reported bad at ${at}`);
        continue;
      }
      if (at === -1) {
        // Only a character cut off at the end may be left unreported; the decoder in stream mode waits for more.
        assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes, { stream: true }), `${[...bytes]}`);
      } else {
        assert.doesNotThrow(() => strict.decode(bytes.subarray(0, at)), `prefix of ${[...bytes]} before ${at}`);
        assert.throws(() => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(0, at + 4), { stream: true }));
      }
    }
  });

  test('the chunk decoder reports the line of a bad sequence that straddles chunks', () => {
    const enc = new TextEncoder();
    const d = new Utf8ChunkDecoder('f.txt');
    assert.equal(d.decode(enc.encode('one\ntwo\nth')), 'one\ntwo\nth');
    assert.equal(d.decode(Uint8Array.of(0x72, 0xe2)), 'r');
    assert.equal(d.line, 3);
    assert.throws(() => d.decode(Uint8Array.of(0x82, 0x41)), { message: /^f\.txt:3: invalid UTF-8 \(byte offset 11; the file must be UTF-8 text/ });
  });
});
