// Tests the task-file parsers: every format and record shape, and that each error names the exact file and line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FormatError } from '../../src/io/errors.ts';
import { bytesSource } from '../../src/data/byte-source.ts';
import { formatOf, parseTaskFile, type ParseOptions } from '../../src/data/parse.ts';

const enc = new TextEncoder();
const parse = (name: string, text: string | Uint8Array, opts: ParseOptions = {}, chunk?: number) =>
  parseTaskFile(bytesSource(name, text, chunk), opts);

/** Asserts that parsing rejects with a FormatError whose message is exactly `message`. */
async function rejectsWith(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

const jsonl = (...records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('JSONL', () => {
  test('reads {input, output} and {text, label} records, skipping blank lines and CRs', async () => {
    const text = '{"input": " 2+2 ", "output": "4"}\r\n\n   \n{"text": "great film", "label": 1}\n{"Input": "x", "OUTPUT": "y"}';
    const r = await parse('math.jsonl', text);
    assert.deepEqual(r.examples, [
      { input: '2+2', output: '4' },
      { input: 'great film', output: '1' },
      { input: 'x', output: 'y' },
    ]);
    assert.equal(r.instruction, null);
    assert.equal(r.splits, null);
  });

  test('one instruction shared by every record becomes the file instruction', async () => {
    const r = await parse('t.jsonl', jsonl({ instruction: 'Add.', input: '1 1', output: '2' }, { instruction: 'Add.', input: '2 2', output: '4' }));
    assert.equal(r.instruction, 'Add.');
    assert.deepEqual(r.examples, [
      { input: '1 1', output: '2' },
      { input: '2 2', output: '4' },
    ]);
  });

  test('differing instructions are prepended to their inputs, and then an empty input is allowed', async () => {
    const r = await parse('t.jsonl', jsonl({ instruction: 'Add.', input: '1 1', output: '2' }, { instruction: 'Say hi.', input: '', output: 'hi' }, { input: 'x', output: 'y' }));
    assert.equal(r.instruction, null);
    assert.deepEqual(r.examples, [
      { input: 'Add.\n\n1 1', output: '2' },
      { input: 'Say hi.', output: 'hi' },
      { input: 'x', output: 'y' },
    ]);
  });

  test('a shared instruction with an empty input names that line', async () => {
    await rejectsWith(parse('t.jsonl', jsonl({ instruction: 'A', input: 'x', output: 'y' }, { instruction: 'A', input: ' ', output: 'y' })), 't.jsonl:2: empty input');
  });

  test('a malformed line names its line', async () => {
    const text = jsonl({ input: 'a', output: 'b' }) + '\n{"input": "a", "output": }\n';
    await rejectsWith(parse('bad.jsonl', text), /^bad\.jsonl:3: malformed JSON line \(.+\)$/);
  });

  test('a line that is not an object is refused', async () => {
    await rejectsWith(parse('bad.jsonl', jsonl({ input: 'a', output: 'b' }, ['a', 'b'])), /^bad\.jsonl:2: record is not a JSON object/);
  });

  test('an empty answer on line N says so', async () => {
    const text = jsonl({ input: 'a', output: 'b' }, { input: 'c', output: 'd' }, { input: 'e', output: 'f' }, { input: 'g', output: '  ' });
    await rejectsWith(parse('e.jsonl', text), 'e.jsonl:4: empty answer');
    await rejectsWith(parse('e.jsonl', jsonl({ input: 'a', output: null })), 'e.jsonl:1: empty answer');
    await rejectsWith(parse('e.jsonl', jsonl({ input: 'a', output: [] })), 'e.jsonl:1: empty answer');
  });

  test('an empty input says so', async () => {
    await rejectsWith(parse('e.jsonl', jsonl({ input: 'a', output: 'b' }, { input: '', output: 'b' })), 'e.jsonl:2: empty input');
  });

  test('a missing field names the fields the record has', async () => {
    await rejectsWith(
      parse('m.jsonl', jsonl({ input: 'a', output: 'b' }, { prompt: 'a', completion: 'b' })),
      'm.jsonl:2: missing input field: expected one of input, text, sentence, question, content, review (available fields: prompt, completion)',
    );
    await rejectsWith(
      parse('m.jsonl', jsonl({ text: 'a', score: 1 })),
      'm.jsonl:1: missing output field: expected one of output, label, answer, category, class, target (available fields: text, score)',
    );
  });

  test('an answer that is an object is refused', async () => {
    await rejectsWith(parse('o.jsonl', jsonl({ input: 'a', output: { x: 1 } })), /^o\.jsonl:1: answer is not text/);
  });

  test('two fields that differ only in case are refused when one is read', async () => {
    await rejectsWith(parse('k.jsonl', jsonl({ text: 'a', label: 'x', Label: 'y' })), 'k.jsonl:1: fields "label" and "Label" both match the output (keep one of them)');
    await rejectsWith(parse('k.jsonl', jsonl({ TEXT: 'a', text: 'b', label: 'x' })), /^k\.jsonl:1: fields "TEXT" and "text" both match the input/);
    // Fields nobody reads may repeat in any case.
    assert.equal((await parse('k.jsonl', jsonl({ text: 'a', label: 'x', note: 1, NOTE: 2 }))).examples.length, 1);
  });

  test('a list answer gives its first text; a list of lists or of objects is refused, however deep, without recursing', async () => {
    assert.deepEqual((await parse('l.jsonl', jsonl({ input: 'a', output: ['x', 'y'] }))).examples, [{ input: 'a', output: 'x' }]);
    await rejectsWith(parse('l.jsonl', jsonl({ input: 'a', output: [['x']] })), /^l\.jsonl:1: answer is a list whose first element is a list, not text \(got \[\["x"\]\]; give text/);
    await rejectsWith(parse('l.jsonl', jsonl({ input: [{ a: 1 }], output: 'x' })), /^l\.jsonl:1: input is a list whose first element is an object, not text/);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const deepLine = jsonl({ text: 'a', label: 'b' }) + `{"text": ${deep}, "label": "x"}\n`;
    await rejectsWith(parse('deep.jsonl', deepLine), /^deep\.jsonl:2: input is a list whose first element is a list, not text \(got \[\[\[\[…\]\]\]\]; give text/);
    await rejectsWith(parse('deep.json', `[{"text": "a", "label": "b"},\n{"text": "c", "label": ${deep}}]`), /^deep\.json:2: answer is a list whose first element is a list/);
    const deepObject = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    await rejectsWith(parse('deep.jsonl', `{"text": "a", "label": ${deepObject}}\n`), /^deep\.jsonl:1: answer is not text \(got \{"a": \{"a": \{"a": \{…\}\}\}\}; /);
    await rejectsWith(parse('deep.jsonl', `${deep}\n`), /^deep\.jsonl:1: record is not a JSON object \(got \[\[\[\[…\]\]\]\] \(a list\); /);
    await rejectsWith(parse('deep.jsonl', `{"text": "a", "label": "b", "split": ${deep}}\n`), /^deep\.jsonl:1: split must be train, test or dev, got \[\[\[\[…\]\]\]\]$/);
  });

  test('the columns option picks other fields', async () => {
    const r = await parse('c.jsonl', jsonl({ prompt: 'a', completion: 'b', input: 'ignored' }), { columns: { input: 'Prompt', output: 'completion' } });
    assert.deepEqual(r.examples, [{ input: 'a', output: 'b' }]);
    await rejectsWith(parse('c.jsonl', jsonl({ a: 'x', b: 'y' }), { columns: { input: 'prompt', output: 'b' } }), 'c.jsonl:1: missing field "prompt" given for the input (available fields: a, b)');
  });

  test('a file with no records is refused', async () => {
    await rejectsWith(parse('empty.jsonl', '\n\n  \n'), 'empty.jsonl: no examples in the file');
    await rejectsWith(parse('empty.jsonl', ''), 'empty.jsonl: no examples in the file');
  });

  test('the "split" field is returned per example and checked', async () => {
    const r = await parse('s.jsonl', jsonl({ input: 'a', output: 'b', split: 'train' }, { input: 'c', output: 'd', split: 'Test' }, { input: 'e', output: 'f', split: 'validation' }));
    assert.deepEqual(r.splits, ['train', 'test', 'dev']);
    await rejectsWith(parse('s.jsonl', jsonl({ input: 'a', output: 'b', split: 'train' }, { input: 'c', output: 'd', split: 'holdout' })), 's.jsonl:2: split must be train, test or dev, got "holdout"');
    await rejectsWith(parse('s.jsonl', jsonl({ input: 'a', output: 'b', split: 'train' }, { input: 'c', output: 'd' })), 's.jsonl:2: record lacks the "split" field that earlier records have');
  });
});

describe('invalid UTF-8', () => {
  const line = (s: string) => enc.encode(s + '\n');
  const withBadByte = (before: string, bad: number[], after: string) => new Uint8Array([...enc.encode(before), ...bad, ...enc.encode(after)]);
  const good = new Uint8Array([...line(JSON.stringify({ input: 'héllo', output: 'a' })), ...line(JSON.stringify({ input: 'b', output: 'c' }))]);

  test('a bad byte in the middle of line 3 of a JSONL file names line 3, whatever the chunking', async () => {
    const bytes = new Uint8Array([...good, ...withBadByte('{"input": "ab', [0xff], 'cd", "output": "x"}\n'), ...line('{"input": "z", "output": "y"}')]);
    const offset = good.length + enc.encode('{"input": "ab').length;
    for (const chunk of [1, 2, 3, 5, 64, 1 << 16]) {
      await rejectsWith(parse('u.jsonl', bytes, {}, chunk), `u.jsonl:3: invalid UTF-8 (byte offset ${offset}; the file must be UTF-8 text: save it as UTF-8 (is it binary, or in Latin-1 or Windows-1252?))`);
    }
  });

  test('overlong forms, surrogates and a sequence cut by a newline are all caught on their line', async () => {
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80]]) {
      const bytes = new Uint8Array([...good, ...line(''), ...withBadByte('{"input": "', bad, '", "output": "x"}\n')]);
      for (const chunk of [1, 4, 1 << 16]) await rejectsWith(parse('u.jsonl', bytes, {}, chunk), /^u\.jsonl:4: invalid UTF-8/);
    }
  });

  test('a file ending inside a character names its last line', async () => {
    const bytes = new Uint8Array([...good, 0x7b, 0xe2, 0x82]);
    await rejectsWith(parse('u.jsonl', bytes, {}, 2), /^u\.jsonl:3: invalid UTF-8 \(the file ends inside a multi-byte character; the file must be UTF-8 text/);
  });

  test('JSON and CSV files are checked too', async () => {
    const json = withBadByte('[\n {"input": "a", "output": "b"},\n {"input": "', [0xfe], '", "output": "b"}\n]');
    await rejectsWith(parse('u.json', json, {}, 3), /^u\.json:3: invalid UTF-8/);
    const csv = withBadByte('text,label\na,b\n"multi\nline ', [0xc3, 0x28], '",c\n');
    await rejectsWith(parse('u.csv', csv, {}, 3), /^u\.csv:4: invalid UTF-8/);
  });

  test('multi-byte characters split across every chunk boundary decode intact', async () => {
    const text = jsonl({ input: 'é😀 日本語', output: 'ü✓' }, { input: 'b', output: 'c' });
    for (const name of ['m.jsonl', 'm.json']) {
      const body = name.endsWith('.json') ? `[${text.trim().split('\n').join(',\n')}]` : text;
      for (const chunk of [1, 2, 3]) {
        const r = await parse(name, body, {}, chunk);
        assert.deepEqual(r.examples[0], { input: 'é😀 日本語', output: 'ü✓' }, `${name} in chunks of ${chunk}`);
      }
    }
  });
});

describe('JSON', () => {
  test('an array of records', async () => {
    const text = '\uFEFF[\n  {"input": "a", "output": "b"},\n  {"text": "c", "label": 0},\n  {"instruction": "I", "input": "e", "output": ["f", "g"]}\n]\n';
    const r = await parse('arr.json', text);
    assert.deepEqual(r.examples, [
      { input: 'a', output: 'b' },
      { input: 'c', output: '0' },
      { input: 'I\n\ne', output: 'f' },
    ]);
    assert.equal(r.instruction, null);
  });

  test('the benchmark layout: Definition joined with a space, Instances with list outputs', async () => {
    const text = JSON.stringify(
      {
        Contributors: ['x'],
        Definition: ['Classify the news article.', 'Answer with one word.'],
        'Positive Examples': [{ input: 'p', output: 'q', explanation: 'e' }],
        Instances: [
          { id: 't1', input: 'Stocks rose.', output: ['Business'] },
          { id: 't2', input: 'A goal!', output: ['Sports', 'Sport'] },
        ],
      },
      null,
      1,
    );
    for (const chunk of [1, 7, 1 << 16]) {
      const r = await parse('train.json', text, {}, chunk);
      assert.equal(r.instruction, 'Classify the news article. Answer with one word.');
      assert.deepEqual(r.examples, [
        { input: 'Stocks rose.', output: 'Business' },
        { input: 'A goal!', output: 'Sports' },
      ]);
    }
  });

  test('errors in a record give the line the record starts on', async () => {
    const text = '[\n  {"input": "a", "output": "b"},\n  {"input": "a", "output": "b"},\n  {\n    "input": "a",\n    "output": ""\n  }\n]';
    for (const chunk of [1, 5, 1 << 16]) await rejectsWith(parse('rec.json', text, {}, chunk), 'rec.json:4: empty answer');
    const missing = '{"Definition": ["d"],\n "Instances": [\n  {"input": "a", "output": "b"},\n  {"id": 2, "out": "b"}]}';
    await rejectsWith(parse('inst.json', missing), 'inst.json:4: missing input field: expected one of input, text, sentence, question, content, review (available fields: id, out)');
  });

  test('malformed JSON names the line', async () => {
    await rejectsWith(parse('bad.json', '[\n {"input": "a", "output": "b"},\n {"input": "a" "output": "b"}\n]'), /^bad\.json:3: malformed JSON \(/);
    await rejectsWith(parse('bad.json', '[\n {"input": "a", "output": "b"},\n {"input": "a", "output": "b"}\n]\nx'), /^bad\.json:5: malformed JSON \(/);
    await rejectsWith(parse('bad.json', '[\n {"input": "a", "output": "b"},\n {"input": "a", "output": "b"'), /^bad\.json:3: malformed JSON \(/);
  });

  test('other top-level shapes are refused', async () => {
    await rejectsWith(parse('s.json', '"hello"'), 's.json:1: expected a JSON array of records or an object with "Instances"');
    await rejectsWith(parse('o.json', '{"data": [{"input": "a", "output": "b"}]}'), /^o\.json: no examples in the file \(expected an "Instances" array of records; a \.json file is an array of records/);
    await rejectsWith(parse('o.json', '{"Instances": {"a": {"input": "a", "output": "b"}}}'), 'o.json:1: "Instances" must be an array of records');
    await rejectsWith(parse('e.json', '[]'), 'e.json: no examples in the file');
    await rejectsWith(parse('e.json', '  '), 'e.json: no examples in the file (the file is empty)');
    await rejectsWith(parse('n.json', '[{"input": "a", "output": "b"},\n 3]'), /^n\.json:2: record is not a JSON object/);
  });
});

describe('CSV and TSV', () => {
  test('a header row maps columns case-insensitively; quoted commas, quotes and newlines survive', async () => {
    const text = 'ID,Sentence,Label\r\n1,"Hello, ""world""",greeting\r\n2,"two\r\nlines",other\r\n\r\n3,plain,greeting';
    for (const chunk of [1, 4, 1 << 16]) {
      const r = await parse('g.csv', text, {}, chunk);
      assert.deepEqual(r.examples, [
        { input: 'Hello, "world"', output: 'greeting' },
        { input: 'two\r\nlines', output: 'other' },
        { input: 'plain', output: 'greeting' },
      ]);
    }
  });

  test('TSV splits on tabs and keeps quotes as ordinary characters', async () => {
    const r = await parse('sst2.tsv', 'sentence\tlabel\n"a quote\t1\nit\'s "fine"\t0\n');
    assert.deepEqual(r.examples, [
      { input: '"a quote', output: '1' },
      { input: 'it\'s "fine"', output: '0' },
    ]);
  });

  test('instruction, split and overriding columns', async () => {
    const text = 'instruction,question,answer,split\nQ?,a,b,train\nQ?,c,d,test\n';
    const r = await parse('q.csv', text);
    assert.equal(r.instruction, 'Q?');
    assert.deepEqual(r.splits, ['train', 'test']);
    const o = await parse('q.csv', 'x,y,z\n1,2,3\n', { columns: { input: 'Z', output: 'x' } });
    assert.deepEqual(o.examples, [{ input: '3', output: '1' }]);
  });

  test('a missing column names the columns there are', async () => {
    await rejectsWith(
      parse('m.csv', 'id,sentence,score\n1,a,2\n'),
      'm.csv:1: missing output column: expected one of output, label, answer, category, class, target (available columns: id, sentence, score)',
    );
    await rejectsWith(parse('m.csv', 'text,label\na,b\n', { columns: { output: 'gold' } }), 'm.csv:1: missing column "gold" given for the output (available columns: text, label)');
  });

  test('an empty answer names the line the row starts on', async () => {
    const text = 'text,label\na,b\n"two\nlines",c\n\nd,\n';
    await rejectsWith(parse('e.csv', text), 'e.csv:6: empty answer');
    await rejectsWith(parse('e.tsv', 'text\tlabel\na\tb\n \tc\n'), 'e.tsv:3: empty input');
  });

  test('a row with the wrong number of fields and a broken quote are reported with their line', async () => {
    for (const chunk of [1, 3, 1 << 16]) {
      await rejectsWith(parse('w.csv', 'text,label\na,b\n\n"x\ny",z\nc,d,e\n', {}, chunk), 'w.csv:6: row has 3 fields, the header has 2');
      await rejectsWith(parse('w.tsv', 'text\tlabel\na\tb\nc\n', {}, chunk), 'w.tsv:3: row has 1 field, the header has 2');
      await rejectsWith(parse('q.csv', 'text,label\na,b\n"c,d\n\ne,f\n', {}, chunk), 'q.csv:3: malformed CSV (Quoted field unterminated)');
      await rejectsWith(parse('q.csv', 'text,label\na,b\n"c"x,d\n', {}, chunk), 'q.csv:3: malformed CSV (Trailing quote on quoted field is malformed)');
    }
  });

  test('a header naming a column twice is refused with its line and both positions, case and spaces ignored', async () => {
    for (const chunk of [1, 5, 1 << 16]) {
      await rejectsWith(parse('d.csv', 'text,label,label\na,b,c\n', {}, chunk), 'd.csv:1: the header names column "label" twice (columns 2 and 3) (rename or remove one of them)');
      await rejectsWith(parse('d.tsv', '\n\nText\tlabel\t text \na\tb\tc\n', {}, chunk), /^d\.tsv:3: the header names column "text" twice \(columns 1 and 3\)/);
    }
    // Unnamed columns (a saved index column, or two) are no choice to make.
    const r = await parse('i.csv', ',text,label,\n0,a,b,\n');
    assert.deepEqual(r.examples, [{ input: 'a', output: 'b' }]);
  });

  test('a header alone or an empty file has no examples', async () => {
    await rejectsWith(parse('h.csv', 'text,label\n'), 'h.csv: no examples in the file');
    await rejectsWith(parse('h.csv', ''), 'h.csv: no examples in the file (the file is empty)');
  });
});

describe('formats', () => {
  test('the extension picks the format, case-insensitively; others are refused', async () => {
    assert.equal(formatOf('a/B.JSONL'), 'jsonl');
    assert.equal(formatOf('x.tsv'), 'tsv');
    await rejectsWith(parse('notes.txt', 'x'), 'notes.txt: unsupported extension ".txt" (expected one of .jsonl, .json, .csv, .tsv)');
    await rejectsWith(parse('README', 'x'), 'README: unsupported extension (none) (expected one of .jsonl, .json, .csv, .tsv)');
    const r = await parse('data.txt', jsonl({ input: 'a', output: 'b' }), { format: 'jsonl' });
    assert.equal(r.examples.length, 1);
  });
});

describe('encodings, line endings and files of another format', () => {
  const records = '{"text": "a b", "label": "x"}\n{"text": "c d", "label": "y"}\n';
  const utf16le = (text: string) => new Uint8Array(Buffer.from(text, 'utf16le'));
  const utf16be = (text: string) => new Uint8Array(Buffer.from(text, 'utf16le').swap16());

  test('UTF-16 and UTF-32, with or without a byte-order mark, are named as such in every format and chunking', async () => {
    // A byte-order mark is recognised once its bytes have arrived: sources give far larger first chunks than 4 bytes.
    for (const chunk of [4, 5, 1 << 16]) {
      await rejectsWith(parse('a.jsonl', Uint8Array.of(0xff, 0xfe, ...utf16le(records)), {}, chunk), /^a\.jsonl:1: not UTF-8 text \(the file is UTF-16 \(little-endian, with a byte-order mark\) text; save it as UTF-8 text\)$/);
      await rejectsWith(parse('a.json', Uint8Array.of(0xfe, 0xff, ...utf16be('[{"text": "a", "label": "b"}]')), {}, chunk), /^a\.json:1: not UTF-8 text \(the file is UTF-16 \(big-endian, with a byte-order mark\)/);
      await rejectsWith(parse('a.jsonl', utf16le(records), {}, chunk), /^a\.jsonl:1: not UTF-8 text \(the file is UTF-16 \(little-endian, without a byte-order mark\) text: every other byte is NUL; save it as UTF-8 text\)$/);
      await rejectsWith(parse('a.csv', utf16be('text,label\na,b\n'), {}, chunk), /^a\.csv:1: not UTF-8 text \(the file is UTF-16 \(big-endian, without a byte-order mark\)/);
      await rejectsWith(parse('a.tsv', Uint8Array.of(0xff, 0xfe, 0, 0, 0x74, 0, 0, 0), {}, chunk), /^a\.tsv:1: not UTF-8 text \(the file is UTF-32 \(little-endian/);
    }
    // Without a mark, two bytes tell (one for little-endian text); bytes arriving one at a time still do.
    for (const chunk of [1, 2, 3]) await rejectsWith(parse('a.jsonl', utf16le(records), {}, chunk), /^a\.jsonl:1: not UTF-8 text \(the file is UTF-16 \(little-endian, without a byte-order mark\)/);
    for (const chunk of [2, 3]) await rejectsWith(parse('a.json', utf16be('[{"text": "a", "label": "b"}]'), {}, chunk), /^a\.json:1: not UTF-8 text \(the file is UTF-16 \(big-endian, without a byte-order mark\)/);
  });

  test('a NUL byte names its line; bytes that are not UTF-8 say what the file must be', async () => {
    await rejectsWith(parse('n.jsonl', records + '{"text": "a\u0000", "label": "x"}\n'), /^n\.jsonl:3: a NUL byte: this is not a text file \(the file must be UTF-8 text: save it as UTF-8/);
    await rejectsWith(parse('z.csv', Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0)), /^z\.csv:1: a NUL byte: this is not a text file/);
    await rejectsWith(parse('l.csv', Uint8Array.of(...enc.encode('text,label\ncaf'), 0xe9, ...enc.encode(',x\n'))), /^l\.csv:2: invalid UTF-8 \(byte offset 14; the file must be UTF-8 text: save it as UTF-8 \(is it binary, or in Latin-1 or Windows-1252\?\)\)$/);
  });

  test('CR-only line endings are line breaks in every format, and errors name the right line', async () => {
    for (const chunk of [1, 2, 1 << 16]) {
      const cr = records.replace(/\n/g, '\r');
      assert.deepEqual((await parse('cr.jsonl', cr, {}, chunk)).examples, [{ input: 'a b', output: 'x' }, { input: 'c d', output: 'y' }]);
      await rejectsWith(parse('cr.jsonl', `${cr}\r{"text": "q", "label": }\r`, {}, chunk), /^cr\.jsonl:4: malformed JSON line/);
      await rejectsWith(parse('cr.jsonl', `${cr}{"text": "q", "label": ""}`, {}, chunk), 'cr.jsonl:3: empty answer');
      await rejectsWith(parse('cr.jsonl', Uint8Array.of(...enc.encode(cr), 0xc3, 0x28), {}, chunk), /^cr\.jsonl:3: invalid UTF-8/);
      assert.deepEqual((await parse('cr.csv', 'text,label\ra,b\r"c\rd",e\r', {}, chunk)).examples, [{ input: 'a', output: 'b' }, { input: 'c\rd', output: 'e' }]);
      await rejectsWith(parse('cr.csv', 'text,label\ra,b\r"c\rd",e\rf\r', {}, chunk), 'cr.csv:5: row has 1 field, the header has 2');
      await rejectsWith(parse('cr.json', '[\r{"text": "a", "label": "b"},\r{"text": "c", "label": ""}\r]', {}, chunk), 'cr.json:3: empty answer');
      // Mixed endings: CRLF and LF lines count once each.
      await rejectsWith(parse('m.jsonl', `${records.replace('\n', '\r\n')}\n{"text": "q", "label": ""}\n`, {}, chunk), 'm.jsonl:4: empty answer');
    }
  });

  test('a file in another format than its extension says which format it looks like', async () => {
    await rejectsWith(parse('a.jsonl', '[\n  {"text": "a", "label": "b"}\n]\n'), /^a\.jsonl:1: malformed JSON line \(.*; the file looks like a JSON array: name it \.json, or write one object per line\)$/);
    await rejectsWith(parse('a.jsonl', '[{"text": "a", "label": "b"}]\n'), /^a\.jsonl:1: record is not a JSON object \(got .* \(a list\); a \.jsonl file holds one object per line \(for one JSON array of records, name the file \.json\)\)$/);
    await rejectsWith(parse('a.jsonl', '{\n  "text": "a",\n  "label": "b"\n}\n'), /^a\.jsonl:1: malformed JSON line \(.*; a \.jsonl file holds one whole JSON object per line/);
    await rejectsWith(parse('a.jsonl', 'text,label\na,b\n'), /^a\.jsonl:1: malformed JSON line \(.*; the file looks like CSV or TSV: name it \.csv or \.tsv\)$/);
    await rejectsWith(parse('a.json', records), /^a\.json:2: malformed JSON \(more than one JSON value: a \.json file is one array of records \[\{\.\.\.\}, \{\.\.\.\}\]; for one object per line, name the file \.jsonl\)$/);
    await rejectsWith(parse('a.json', '[{"text": "a", "label": "b"}] x'), /^a\.json:1: malformed JSON \(Unexpected "x"; a \.json file is one array of records/);
    await rejectsWith(parse('t.jsonl', `${records}{"text": "c d", "lab`), /^t\.jsonl:3: malformed JSON line \(.*; the last line ends without closing its record: is the file cut short\?\)$/);
  });
});
