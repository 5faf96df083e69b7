// Tests prompt rendering (the tiny model's ChatML template and the plain template), label masking, truncation and batching.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { TokenBatch } from '../../src/engine/batch.ts';
import { encodeExample, IGNORE_INDEX, makeBatch, padIdFor, type EncodedExample } from '../../src/data/encode.ts';
import { buildPrompt, plainPrompt, promptFor } from '../../src/data/prompt.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { createTokenizer, loadTokenizer, type TextTokenizer } from '../../src/model/tokenizer.ts';

const TINY = 'public/models/tiny-random';
let tok: TextTokenizer;
/** The tiny tokenizer with a post-processor that puts <|endoftext|> (id 317) before every sequence, like a BOS. */
let bosTok: TextTokenizer;

before(async () => {
  const src = dirSource(TINY);
  tok = (await loadTokenizer(src))!;
  const json = JSON.parse(await src.readText('tokenizer.json'));
  const config = JSON.parse(await src.readText('tokenizer_config.json'));
  json.post_processor = {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [317], tokens: ['<|endoftext|>'] } },
  };
  delete config.chat_template;
  bosTok = createTokenizer(json, config);
});

describe('prompts', () => {
  test("the tiny model's ChatML template renders one user turn and the assistant header", () => {
    assert.ok(tok.chatTemplate);
    const p = promptFor(tok, 'Classify the sentiment.', 'A fine film.');
    assert.deepEqual(p, {
      text: '<|im_start|>user\nClassify the sentiment.\n\nA fine film.<|im_end|>\n<|im_start|>assistant\n',
      chat: true,
      answerPrefix: '',
      answerSuffix: '<|im_end|>',
    });
  });

  test('the plain template, when there is no chat template', () => {
    const p = buildPrompt(null, 'Classify the sentiment.', 'A fine film.');
    assert.deepEqual(p, { text: 'Classify the sentiment.\n\nInput: A fine film.\nOutput:', chat: false, answerPrefix: ' ', answerSuffix: null });
    assert.equal(plainPrompt('I', 'x'), 'I\n\nInput: x\nOutput:');
  });

  test('bos_token and eos_token reach the template; template errors are reported', () => {
    const template = '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}';
    assert.equal(buildPrompt(template, 'I', 'x', { bosToken: '<s>', eosToken: '</s>' }).text, '<s>[user] I\n\nx</s>[assistant] ');
    assert.throws(() => buildPrompt('{% if %}', 'I', 'x'), /chat template does not parse/);
    assert.throws(() => buildPrompt("{{ raise_exception('only user/assistant roles') }}", 'I', 'x'), /chat template failed to render: .*only user\/assistant roles/);
  });
});

describe('encodeExample', () => {
  test('chat prompt: no extra special tokens, answer then EOS, prompt masked', () => {
    const p = promptFor(tok, 'Classify.', 'good movie');
    const e = encodeExample(tok, p, 'positive', 128);
    const promptIds = tok.encode(p.text, { addSpecialTokens: false });
    const answerIds = tok.encode('positive', { addSpecialTokens: false });
    assert.deepEqual(e.ids, [...promptIds, ...answerIds, tok.eosId!]);
    assert.equal(e.promptLength, promptIds.length);
    assert.deepEqual(e.labels, [...promptIds.map(() => IGNORE_INDEX), ...answerIds, tok.eosId!]);
    assert.equal(e.truncated, 0);
    assert.equal(e.ids[0], tok.tokenToId('<|im_start|>'));
    assert.equal(tok.decode(e.ids), p.text + 'positive<|im_end|>');
  });

  test("plain prompt: the tokenizer's post-processor applies and the answer follows a space", () => {
    const p = buildPrompt(bosTok.chatTemplate, 'Classify.', 'good movie');
    assert.equal(p.chat, false);
    const e = encodeExample(bosTok, p, 'positive', 128);
    assert.equal(e.ids[0], 317, 'BOS from the post-processor');
    assert.equal(e.ids.filter((id) => id === 317).length, 1, 'only the prompt gets a BOS');
    const answerIds = bosTok.encode(' positive', { addSpecialTokens: false });
    assert.deepEqual(e.ids.slice(e.promptLength), [...answerIds, bosTok.eosId!]);
    assert.equal(bosTok.decode(e.ids, { skipSpecialTokens: true }), 'Classify.\n\nInput: good movie\nOutput: positive');
    assert.deepEqual(
      e.labels.map((l) => l !== IGNORE_INDEX),
      e.ids.map((_, i) => i >= e.promptLength),
    );
  });

  test('a plain string prompt is used as given, and a null answer encodes the prompt alone', () => {
    const e = encodeExample(bosTok, 'Q: hi\nA:', ' there', 64);
    assert.deepEqual(e.ids, [...bosTok.encode('Q: hi\nA:'), ...bosTok.encode(' there', { addSpecialTokens: false }), bosTok.eosId!]);
    const g = encodeExample(tok, promptFor(tok, 'I', 'x'), null, 64);
    assert.equal(g.ids.length, g.promptLength);
    assert.ok(g.labels.every((l) => l === IGNORE_INDEX));
  });

  test('too long: the prompt is cut from the left, keeping the whole answer', () => {
    const p = promptFor(tok, 'A long instruction that takes many tokens to say.', 'and a long input as well');
    const full = encodeExample(tok, p, 'yes', 1000);
    const answerLen = full.ids.length - full.promptLength;
    const maxLen = answerLen + 5;
    const e = encodeExample(tok, p, 'yes', maxLen);
    assert.equal(e.ids.length, maxLen);
    assert.equal(e.promptLength, 5);
    assert.deepEqual(e.ids, full.ids.slice(full.ids.length - maxLen));
    assert.deepEqual(e.labels, full.labels.slice(full.labels.length - maxLen));
    assert.equal(e.truncated, full.ids.length - maxLen);
  });

  test('an answer that does not fit keeps one prompt token and loses its end', () => {
    const p = promptFor(tok, 'I', 'x');
    const full = encodeExample(tok, p, 'a rather long answer', 1000);
    const e = encodeExample(tok, p, 'a rather long answer', 4);
    assert.deepEqual(e.ids, [full.ids[full.promptLength - 1], ...full.ids.slice(full.promptLength, full.promptLength + 3)]);
    assert.deepEqual(e.labels, [IGNORE_INDEX, ...full.ids.slice(full.promptLength, full.promptLength + 3)]);
    assert.equal(e.promptLength, 1);
    assert.equal(e.truncated, full.ids.length - 4);
    assert.throws(() => encodeExample(tok, p, 'a', 1), /maxLen must be an integer of at least 2/);
  });
});

describe('makeBatch', () => {
  const ex = (ids: number[], promptLength: number): EncodedExample => ({
    ids,
    labels: ids.map((id, i) => (i < promptLength ? IGNORE_INDEX : id)),
    promptLength,
    truncated: 0,
  });

  test('right-pads ids with padId and labels with -100, with prompt masks and lengths', () => {
    const batch = makeBatch([ex([5, 6, 7, 8], 2), ex([9, 10], 1), ex([11, 12, 13], 3)], { padId: 0 });
    const asEngineBatch: TokenBatch = batch;
    assert.equal(asEngineBatch.batchSize, 3);
    assert.equal(batch.seqLen, 4);
    assert.deepEqual([...batch.ids], [5, 6, 7, 8, 9, 10, 0, 0, 11, 12, 13, 0]);
    assert.deepEqual([...batch.labels], [-100, -100, 7, 8, -100, 10, -100, -100, -100, -100, -100, -100]);
    assert.deepEqual([...batch.promptMask], [1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0]);
    assert.deepEqual([...batch.promptLengths], [2, 1, 3]);
    assert.deepEqual([...batch.lengths], [4, 2, 3]);
    assert.ok(batch.ids instanceof Int32Array && batch.labels instanceof Int32Array);
  });

  test('a given seqLen pads further and refuses longer examples', () => {
    const batch = makeBatch([ex([1, 2], 1)], { padId: 319, seqLen: 5 });
    assert.deepEqual([...batch.ids], [1, 2, 319, 319, 319]);
    assert.deepEqual([...batch.labels], [-100, 2, -100, -100, -100]);
    assert.throws(() => makeBatch([ex([1, 2], 1), ex([1, 2, 3], 1)], { padId: 0, seqLen: 2 }), { message: 'example 1 has 3 tokens, more than seqLen 2' });
    assert.throws(() => makeBatch([], { padId: 0 }), /at least one example/);
  });

  test('real examples from the tiny tokenizer batch together', () => {
    const encoded = [
      encodeExample(tok, promptFor(tok, 'Classify.', 'great'), 'positive', 64),
      encodeExample(tok, promptFor(tok, 'Classify.', 'a dull and overlong film'), 'negative', 64),
    ];
    const padId = padIdFor(tok);
    const batch = makeBatch(encoded, { padId });
    const T = batch.seqLen;
    for (const [b, e] of encoded.entries()) {
      assert.deepEqual([...batch.ids.subarray(b * T, b * T + e.ids.length)], e.ids);
      assert.ok([...batch.ids.subarray(b * T + e.ids.length, (b + 1) * T)].every((id) => id === padId));
      assert.deepEqual([...batch.labels.subarray(b * T, b * T + e.ids.length)], e.labels);
    }
    assert.ok([...batch.labels].filter((l) => l !== IGNORE_INDEX).every((l) => l >= 0 && l < tok.vocabSize));
  });

  test('padIdFor: pad token, else EOS, else 0', () => {
    assert.equal(padIdFor(tok), tok.padId);
    assert.equal(padIdFor({ padId: null, eosId: 7 }), 7);
    assert.equal(padIdFor({ padId: null, eosId: null }), 0);
  });
});
