// The checks a run passes before it starts (src/cl/run-checks.ts), shared by the app and `clora run`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertFitsModel, assertRunnable, folderNameProblem, modelProblems, resultNameProblem, runProblems, type RunCheckInput } from '../../src/cl/run-checks.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import type { MethodRef } from '../../src/cl/experiment.ts';

const m = (method: string, name = method): MethodRef => ({ method, name, options: {} });
const input = (methods: MethodRef[], tasks: RunCheckInput['tasks'], extra: Partial<RunCheckInput['settings']> = {}): RunCheckInput => ({
  settings: { methods, batchSize: 8, evaluateUnseen: false, ...extra },
  tasks,
});
const errors = (i: RunCheckInput) => runProblems(i).filter((p) => p.severity === 'error');

describe('run checks', () => {
  it('a sound run has no errors, and the oracle with unseen-task evaluation is one of them', () => {
    const tasks = [{ name: 'a', train: 10, test: 4 }, { name: 'b', train: 10, test: 4 }];
    assert.deepEqual(errors(input([m('seqlora'), m('oracle')], tasks, { evaluateUnseen: true })), []);
    assert.doesNotThrow(() => assertRunnable(input([m('oracle')], tasks, { evaluateUnseen: true }), 'x.json'));
  });

  it('duplicate task names and names that cannot be folders are refused with the task and what to change', () => {
    const found = errors(input([m('seqlora')], [{ name: 'a' }, { name: 'b/c' }, { name: 'a', source: 'a2.csv' }]));
    assert.deepEqual(found.map((p) => p.field), ['tasks[1].name', 'tasks[2].name']);
    assert.match(found[0].message, /Task 2 \("b\/c"\): its name contains a slash.*rename it/);
    assert.match(found[1].message, /Tasks 1 and 3 are both named "a".*rename one/);
  });

  it('tasks without training or test examples are refused', () => {
    const found = errors(input([m('seqlora')], [{ name: 'a', source: 'a.jsonl', train: 0, test: 3 }, { name: 'b', train: 5, test: 0 }]));
    assert.deepEqual(found.map((p) => p.field), ['tasks[0]', 'tasks[1]']);
    assert.match(found[0].message, /Task 1 \("a", a\.jsonl\) has no training examples/);
    assert.match(found[1].message, /no test examples; give it a test split or raise the test fraction/);
  });

  it('replay and static ConPET at batch size 1 are refused (they could replay nothing)', () => {
    const tasks = [{ name: 'a' }];
    const found = errors(input([m('replay'), m('conpet-static', 'cs'), m('seqlora')], tasks, { batchSize: 1 }));
    assert.deepEqual(found.map((p) => p.field), ['batchSize', 'batchSize']);
    assert.match(found[0].message, /^replay mixes stored samples .* set the batch size to 2 or more\.$/);
    assert.deepEqual(errors(input([m('replay')], tasks, { batchSize: 2 })), []);
  });

  it('method result names must be usable folder names and not the run\'s own files', () => {
    const found = errors(input([m('seqlora', '..'), m('ewc', 'results.json')], [{ name: 'a' }]));
    assert.deepEqual(found.map((p) => p.field), ['methods[0].name', 'methods[1].name']);
    assert.equal(folderNameProblem('ok name'), null);
    assert.equal(folderNameProblem(' '), 'is empty');
  });

  it('names with control characters or the storage\'s reserved prefix, and names alike but for case, are refused', () => {
    assert.match(folderNameProblem('a\tb')!, /control character/);
    assert.match(folderNameProblem('.clora-tmp')!, /starts with "\.clora-"/);
    assert.equal(resultNameProblem('Results.json'), "is taken by the run's own files");
    const found = errors(input([m('seqlora'), m('ewc', 'SeqLoRA')], [{ name: 'spam' }, { name: 'Spam' }]));
    assert.deepEqual(found.map((p) => p.field), ['tasks[1].name']);
    assert.match(found[0].message, /\(as "spam" and "Spam", one folder where case is ignored\)/);
  });

  it('without the oracle, a note (not an error) says FWT stays empty', () => {
    const found = runProblems(input([m('seqlora')], [{ name: 'a' }]));
    assert.deepEqual(found.map((p) => p.severity), ['note']);
    assert.match(found[0].message, /add the oracle/);
    assert.deepEqual(runProblems(input([m('seqlora'), m('oracle')], [{ name: 'a' }])), []);
  });

  it('assertRunnable lists every error in one message naming the file', () => {
    assert.throws(() => assertRunnable(input([m('replay')], [{ name: 'a' }, { name: 'a' }], { batchSize: 1 }), 'exp.json'),
      (e: Error) => /^exp\.json: the run cannot start:\n  - tasks\[1\]\.name: .*\n  - batchSize: /.test(e.message));
  });

  describe('settings against the model', () => {
    // SmolLM2-135M's shapes: hidden 576, 9 heads of 64 with 3 kv heads (k/v are 576 x 192), MLP 1536, 2048 positions.
    const config = parseModelConfig({
      architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 2,
      num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 100, max_position_embeddings: 2048,
    });
    const settings = (rank: number, targets: ('q_proj' | 'v_proj' | 'down_proj')[], maxLength = 256, maxNewTokens = 16) =>
      ({ lora: { rank, alpha: 16, dropout: 0, targets }, maxLength, maxNewTokens });

    it('accepts a rank up to the smallest side of the targeted projections and prompts within the positions', () => {
      assert.deepEqual(modelProblems(settings(576, ['q_proj', 'down_proj']), config), []);
      assert.deepEqual(modelProblems(settings(192, ['v_proj'], 2032, 16), config), []);
    });

    it('refuses a rank above a target\'s smaller side, naming that projection and the largest rank allowed', () => {
      const found = modelProblems(settings(193, ['q_proj', 'v_proj']), config);
      assert.equal(found.length, 1);
      assert.equal(found[0].field, 'lora.rank');
      assert.match(found[0].message, /above v_proj's smaller dimension \(576 x 192\).*at most 192/);
      assert.equal(modelProblems(settings(193, ['q_proj']), config).length, 0);
    });

    it('refuses prompts plus answers beyond max_position_embeddings, naming the field that overflows', () => {
      assert.equal(modelProblems(settings(8, ['q_proj'], 2040, 16), config)[0].field, 'maxLength');
      const huge = modelProblems(settings(8, ['q_proj'], 64, 100000), config);
      assert.equal(huge[0].field, 'maxNewTokens');
      assert.match(huge[0].message, /100064 tokens, more than this model's 2048 positions/);
      assert.throws(() => assertFitsModel(settings(100000, ['q_proj'], 64, 100000), config, 'exp.json'),
        (e: Error) => /^exp\.json: the run cannot start with this model:\n  - lora\.rank: .*\n  - maxNewTokens: /.test(e.message));
    });
  });
});
