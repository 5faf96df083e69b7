// Tests the tokenizer wrapper on the bundled tiny model's byte-level BPE and on variants of its config files.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FormatError } from '../../src/io/errors.ts';
import { memorySource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { createTokenizer, loadTokenizer } from '../../src/model/tokenizer.ts';
import { TINY_MODEL_DIR } from '../../scripts/make-tiny-model.ts';

const tiny = dirSource(TINY_MODEL_DIR);
const tinyFiles = async () => ({
  tokenizer: JSON.parse(await tiny.readText('tokenizer.json')),
  config: JSON.parse(await tiny.readText('tokenizer_config.json')),
});

const SAMPLES = [
  'Hello world, the thing is on and in.',
  'The quick brown fox jumps over the lazy dog.',
  '  leading and trailing spaces  ',
  'tabs\tand\nnew\r\nlines\n\n',
  'héllo wörld — “quotes” ✓ 日本語 😀👍🏽',
  "it's, we'll, they'd: contractions!",
  '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>',
  '',
];

describe('tiny model tokenizer', () => {
  test('round-trips text exactly', async () => {
    const tok = (await loadTokenizer(tiny))!;
    assert.ok(tok);
    for (const text of SAMPLES) {
      const ids = tok.encode(text);
      assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize), text);
      assert.equal(tok.decode(ids), text);
    }
  });

  test('merges apply and special tokens are single ids', async () => {
    const tok = (await loadTokenizer(tiny))!;
    assert.deepEqual(tok.encode(' the'), [tok.tokenToId('Ġthe')]);
    assert.deepEqual(tok.encode(' and'), [tok.tokenToId('Ġand')]);
    const ids = tok.encode('<|im_start|>user<|im_end|>');
    assert.equal(ids[0], tok.tokenToId('<|im_start|>'));
    assert.equal(ids[ids.length - 1], tok.tokenToId('<|im_end|>'));
    assert.equal(tok.isSpecial(ids[0]), true);
    assert.equal(tok.isSpecial(ids[1]), false);
    assert.ok(ids.length < 8);
  });

  test('special ids, vocab size and chat template', async () => {
    const tok = (await loadTokenizer(tiny))!;
    const cfg = JSON.parse(await tiny.readText('config.json'));
    assert.equal(tok.vocabSize, cfg.vocab_size);
    assert.equal(tok.bosId, tok.tokenToId('<|endoftext|>'));
    assert.equal(tok.eosId, tok.tokenToId('<|im_end|>'));
    assert.equal(tok.padId, tok.tokenToId('<|endoftext|>'));
    assert.equal(tok.bosId, cfg.bos_token_id);
    assert.equal(tok.eosId, cfg.eos_token_id);
    assert.deepEqual(tok.stopIds, [tok.eosId]);
    assert.match(tok.chatTemplate ?? '', /<\|im_start\|>/);
    assert.equal(tok.idToToken(tok.eosId!), '<|im_end|>');
    assert.equal(tok.idToToken(100000), null);
    assert.equal(tok.tokenToId('no such token'), null);
  });

  test('skipSpecialTokens drops special tokens from the text', async () => {
    const tok = (await loadTokenizer(tiny))!;
    const ids = tok.encode('<|im_start|>user\nhi<|im_end|>');
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'user\nhi');
  });

  test('ids past the tokenizer (padded embedding rows) decode to nothing', async () => {
    const tok = (await loadTokenizer(tiny))!;
    const ids = tok.encode('abc');
    assert.equal(tok.decode([...ids, tok.vocabSize + 5, -1]), 'abc');
    assert.equal(tok.decode([]), '');
    assert.equal(tok.decode(new Int32Array(ids)), 'abc');
  });

  test('addSpecialTokens applies a post-processor that adds BOS', async () => {
    const { tokenizer, config } = await tinyFiles();
    const bos = tokenizer.added_tokens.find((t: { content: string }) => t.content === '<|endoftext|>').id;
    tokenizer.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [bos], tokens: ['<|endoftext|>'] } },
    };
    const tok = createTokenizer(tokenizer, config);
    const plain = tok.encode('hi there', { addSpecialTokens: false });
    assert.deepEqual(tok.encode('hi there'), [bos, ...plain]);
    assert.deepEqual(tok.encode('hi there', { addSpecialTokens: true }), [bos, ...plain]);
    assert.equal(tok.decode(tok.encode('hi there'), { skipSpecialTokens: true }), 'hi there');
  });
});

describe('loadTokenizer with other file sets', () => {
  test('null without tokenizer.json', async () => {
    assert.equal(await loadTokenizer(memorySource({ 'config.json': '{}' })), null);
  });

  test('without tokenizer_config.json, ids come from config.json and the template from chat_template.jinja', async () => {
    const { tokenizer } = await tinyFiles();
    const tok = (await loadTokenizer(memorySource({
      'tokenizer.json': JSON.stringify(tokenizer),
      'config.json': JSON.stringify({ bos_token_id: 317, eos_token_id: [319, 317] }),
      'chat_template.jinja': '{{ messages }}',
    })))!;
    assert.equal(tok.bosId, 317);
    assert.equal(tok.eosId, 319);
    assert.equal(tok.padId, null);
    assert.deepEqual(tok.stopIds, [319, 317]);
    assert.equal(tok.chatTemplate, '{{ messages }}');
    assert.equal(tok.decode(tok.encode('round trip')), 'round trip');
  });

  test('special tokens written as AddedToken objects and named chat templates', async () => {
    const { tokenizer } = await tinyFiles();
    const tok = createTokenizer(tokenizer, {
      bos_token: { __type: 'AddedToken', content: '<|im_start|>', lstrip: false, normalized: false, rstrip: false, single_word: false },
      eos_token: '<|im_end|>',
      chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }],
    });
    assert.equal(tok.bosId, tok.tokenToId('<|im_start|>'));
    assert.equal(tok.chatTemplate, 'D');
    assert.equal(createTokenizer(tokenizer, {}).chatTemplate, null);
  });

  test('errors name the file', async () => {
    const { tokenizer } = await tinyFiles();
    await assert.rejects(loadTokenizer(memorySource({ 'tokenizer.json': '{"model": ' })),
      (e: unknown) => e instanceof FormatError && e.file === 'tokenizer.json' && e.message.startsWith('tokenizer.json: invalid JSON'));
    await assert.rejects(loadTokenizer(memorySource({ 'tokenizer.json': JSON.stringify(tokenizer), 'tokenizer_config.json': '[' })),
      (e: unknown) => e instanceof FormatError && e.file === 'tokenizer_config.json');
    assert.throws(() => createTokenizer({ version: '1.0' }),
      (e: unknown) => e instanceof FormatError && e.message === 'tokenizer.json: missing "model" object');
    assert.throws(() => createTokenizer({ ...tokenizer, model: { type: 'Mystery' } }),
      (e: unknown) => e instanceof FormatError && e.message.startsWith('tokenizer.json: unsupported or malformed tokenizer'));
    assert.throws(() => createTokenizer(tokenizer, { eos_token: '</s>' }),
      (e: unknown) => e instanceof FormatError && e.message === 'tokenizer_config.json: eos_token "</s>" is not in tokenizer.json\'s vocabulary');
  });
});
