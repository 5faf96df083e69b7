// Truncation that keeps the instruction and the answer (src/data/fit-example.ts): a long example loses the end of
// its input only, on the tiny model's real tokenizer and chat template.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { encodeExample, IGNORE_INDEX } from '../../src/data/encode.ts';
import { encodeTaskExample } from '../../src/data/fit-example.ts';
import { promptFor } from '../../src/data/prompt.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { loadTokenizer, type TextTokenizer } from '../../src/model/tokenizer.ts';

let tok: TextTokenizer;
before(async () => {
  tok = (await loadTokenizer(dirSource('public/models/tiny-random')))!;
});

const INSTRUCTION = 'Is this message spam? Answer spam or ham.';
const INPUT = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');

describe('encodeTaskExample', () => {
  test('an example that fits is encoded exactly as encodeExample does', () => {
    const e = encodeTaskExample(tok, INSTRUCTION, 'short one', 'ham', 256);
    const ref = encodeExample(tok, promptFor(tok, INSTRUCTION, 'short one'), 'ham', 256);
    assert.deepEqual({ ids: e.ids, labels: e.labels, promptLength: e.promptLength, truncated: e.truncated }, ref);
    assert.equal(e.cut, 'none');
    assert.equal(e.fullLength, ref.ids.length);
  });

  test('a long example keeps the whole instruction, template and answer, and the longest prefix of its input that fits', () => {
    const full = encodeExample(tok, promptFor(tok, INSTRUCTION, INPUT), 'spam', 10_000);
    const maxLen = Math.floor(full.ids.length / 2);
    const e = encodeTaskExample(tok, INSTRUCTION, INPUT, 'spam', maxLen);
    assert.equal(e.cut, 'input');
    assert.ok(e.ids.length <= maxLen, `${e.ids.length} <= ${maxLen}`);
    assert.equal(e.fullLength, full.ids.length);
    assert.equal(e.truncated, full.ids.length - e.ids.length);
    // The answer and its EOS are whole, and only they are labelled.
    const answer = full.ids.slice(full.promptLength);
    assert.deepEqual(e.ids.slice(e.promptLength), answer);
    assert.deepEqual(e.labels, [...new Array(e.promptLength).fill(IGNORE_INDEX), ...answer]);
    // The prompt is the template around the instruction and a prefix of the input.
    const prompt = tok.decode(e.ids.slice(0, e.promptLength), { skipSpecialTokens: false });
    assert.ok(prompt.startsWith(`<|im_start|>user\n${INSTRUCTION}\n\nword0 word1`), prompt);
    assert.ok(prompt.endsWith('<|im_end|>\n<|im_start|>assistant\n'), prompt);
    const kept = prompt.slice(`<|im_start|>user\n${INSTRUCTION}\n\n`.length, -'<|im_end|>\n<|im_start|>assistant\n'.length);
    assert.ok(INPUT.startsWith(kept) && kept.length < INPUT.length, kept);
    // One more input token would not fit.
    const inputIds = tok.encode(INPUT, { addSpecialTokens: false });
    const keptIds = tok.encode(kept, { addSpecialTokens: false }).length;
    const more = encodeExample(tok, promptFor(tok, INSTRUCTION, tok.decode(inputIds.slice(0, keptIds + 1))), 'spam', 10_000);
    assert.ok(more.ids.length > maxLen, `${keptIds + 1} input tokens take ${more.ids.length} > ${maxLen}`);
  });

  test('a test prompt (no answer) is fitted the same way', () => {
    const full = encodeExample(tok, promptFor(tok, INSTRUCTION, INPUT), null, 10_000);
    const e = encodeTaskExample(tok, INSTRUCTION, INPUT, null, full.ids.length - 10);
    assert.equal(e.cut, 'input');
    assert.ok(tok.decode(e.ids).includes(INSTRUCTION));
    assert.ok(e.ids.length <= full.ids.length - 10);
  });

  test('when the instruction and answer alone do not fit, the prompt loses tokens from the left, as before', () => {
    const e = encodeTaskExample(tok, INSTRUCTION, INPUT, 'spam', 8);
    const ref = encodeExample(tok, promptFor(tok, INSTRUCTION, INPUT), 'spam', 8);
    assert.equal(e.cut, 'prompt');
    assert.deepEqual(e.ids, ref.ids);
    assert.equal(e.ids.length, 8);
  });
});
