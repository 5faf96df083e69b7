// Validation of experiment files: a full file with its defaults filled in, and each kind of mistake rejected with a message naming the field.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXPERIMENT_DEFAULTS, parseExperiment } from '../../src/cl/experiment.ts';
import { METHODS } from '../../src/cl/methods/index.ts';

const FILE = 'exp.json';
const MINIMAL = { model: 'models/smollm2-135m', tasks: ['data/a.jsonl'], methods: ['seqlora'], steps: 10 };

/** The minimal file with some fields replaced (undefined deletes one). */
function withFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...MINIMAL, ...fields };
  for (const [k, v] of Object.entries(fields)) if (v === undefined) delete out[k];
  return out;
}

function rejects(json: unknown, pattern: RegExp): void {
  assert.throws(() => parseExperiment(json, FILE), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('parseExperiment: valid files', () => {
  it('fills in the defaults of a file that gives only the required fields', () => {
    const exp = parseExperiment({
      description: 'two tasks, three runs',
      model: 'models/smollm2-135m',
      tasks: ['data/a.jsonl', { path: 'data/b', name: 'b', instruction: 'Say yes or no.', columns: { input: 'text', output: 'label' } }],
      methods: ['seqlora', { method: 'sapt', klRatio: 0.1 }, { method: 'sapt', name: 'sapt-noarm', klRatio: 0 }],
      steps: 100,
    }, FILE);
    assert.deepEqual(exp, {
      model: 'models/smollm2-135m',
      tasks: [{ path: 'data/a.jsonl' }, { path: 'data/b', name: 'b', instruction: 'Say yes or no.', columns: { input: 'text', output: 'label' } }],
      methods: [
        { method: 'seqlora', name: 'seqlora', options: {} },
        { method: 'sapt', name: 'sapt', options: { klRatio: 0.1 } },
        { method: 'sapt', name: 'sapt-noarm', options: { klRatio: 0 } },
      ],
      seed: 0,
      steps: 100,
      epochs: null,
      batchSize: 8,
      lr: 2e-4,
      maxLength: 256,
      maxNewTokens: 16,
      lora: { rank: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'] },
      evaluateUnseen: false,
      testFraction: 0.2,
      maxTrain: null,
      maxTest: null,
      recompute: 'auto',
      memoryBudgetMiB: 'auto',
      chat: { enableThinking: false, date: '2024-07-26' },
    });
  });

  it('keeps every field a full file gives', () => {
    const exp = parseExperiment({
      model: 'm', tasks: ['t1', 't2'], methods: ['ewc', { method: 'olora', lambda1: 0.5, lambda2: 0 }], seed: 3, epochs: 2.5,
      batchSize: 4, lr: 1e-3, maxLength: 128, maxNewTokens: 8,
      lora: { rank: 4, alpha: 32, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
      evaluateUnseen: true, testFraction: 0.1, maxTrain: 1000, maxTest: 100, recompute: true, memoryBudgetMiB: 4096,
    }, FILE);
    assert.equal(exp.steps, null);
    assert.equal(exp.epochs, 2.5);
    assert.equal(exp.seed, 3);
    assert.equal(exp.batchSize, 4);
    assert.equal(exp.lr, 1e-3);
    assert.equal(exp.maxLength, 128);
    assert.equal(exp.maxNewTokens, 8);
    assert.deepEqual(exp.lora, { rank: 4, alpha: 32, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    assert.equal(exp.evaluateUnseen, true);
    assert.equal(exp.testFraction, 0.1);
    assert.equal(exp.maxTrain, 1000);
    assert.equal(exp.maxTest, 100);
    assert.equal(exp.recompute, true);
    assert.equal(exp.memoryBudgetMiB, 4096);
    assert.deepEqual(exp.methods[1], { method: 'olora', name: 'olora', options: { lambda1: 0.5, lambda2: 0 } });
  });

  it('accepts every registered method by name with default options', () => {
    const exp = parseExperiment(withFields({ methods: Object.keys(METHODS) }), FILE);
    assert.deepEqual(exp.methods.map((m) => m.name), Object.keys(METHODS));
  });

  it('does not share the default target list between results', () => {
    const a = parseExperiment(MINIMAL, FILE);
    a.lora.targets.push('k_proj');
    assert.deepEqual(parseExperiment(MINIMAL, FILE).lora.targets, ['q_proj', 'v_proj']);
    assert.deepEqual(EXPERIMENT_DEFAULTS.lora.targets, ['q_proj', 'v_proj']);
  });
});

describe('parseExperiment: rejected files', () => {
  it('rejects a value that is not an object', () => {
    rejects([MINIMAL], /exp\.json: an experiment must be a JSON object/);
    rejects(null, /exp\.json: an experiment must be a JSON object/);
  });

  it('rejects an unknown field, naming it and listing the known ones', () => {
    rejects(withFields({ stepz: 10 }), /exp\.json: "stepz" is not a known field; did you mean "steps"\? \(known: model, tasks, methods, .*steps, epochs/);
    rejects(withFields({ maxTrian: 10 }), /exp\.json: "maxTrian" is not a known field; did you mean "maxTrain"\? \(known: /);
    rejects(withFields({ learning_rate: 1e-4 }), /"learning_rate" is not a known field; did you mean "lr"\?/);
    rejects(withFields({ rank: 4 }), /"rank" is not a known field; did you mean "lora": \{"rank": \.\.\.\}\?/);
    rejects(withFields({ zzzzzz: 1 }), /"zzzzzz" is not a known field \(known: /);
    rejects(withFields({ lora: { rnak: 4 } }), /"lora\.rnak" is not a LoRA setting; did you mean "rank"\? \(known: rank, alpha, dropout, targets\)/);
    rejects(withFields({ tasks: [{ path: 'a.jsonl', nmae: 'x' }] }), /"tasks\[0\]\.nmae" is not a task field; did you mean "name"\? \(known: path, name, instruction, columns\)/);
    rejects(withFields({ chat: { enable_thinking: true } }), /"chat\.enable_thinking" is not a chat setting; did you mean "enableThinking"\?/);
  });

  it('leaves a missing model to the bundled demo model and rejects an empty one', () => {
    assert.equal(parseExperiment(withFields({ model: undefined }), 'exp.json').model, null);
    rejects(withFields({ model: '' }), /exp\.json: "model" must name a model folder/);
    rejects(withFields({ model: 7 }), /"model" must name a model folder/);
  });

  it('rejects missing, empty or malformed tasks', () => {
    rejects(withFields({ tasks: [] }), /exp\.json: "tasks" must be a non-empty list/);
    rejects(withFields({ tasks: undefined }), /"tasks" must be a non-empty list/);
    rejects(withFields({ tasks: 'data/a.jsonl' }), /"tasks" must be a non-empty list/);
    rejects(withFields({ tasks: ['data/a.jsonl', { name: 'b' }] }), /"tasks\[1\]" must be a path or/);
    rejects(withFields({ tasks: [{ path: 'a', columns: 'text' }] }), /"tasks\[0\]\.columns" must map/);
  });

  it('keeps a task\'s name and instruction, and refuses ones that are not plain strings or cannot be a folder', () => {
    const exp = parseExperiment(withFields({ tasks: [{ path: 'a.jsonl', name: 'renamed', instruction: 'Say.' }, { path: 'a.jsonl', name: 'b' }] }), FILE);
    assert.deepEqual(exp.tasks, [{ path: 'a.jsonl', name: 'renamed', instruction: 'Say.' }, { path: 'a.jsonl', name: 'b' }]);
    rejects(withFields({ tasks: [{ path: 'a.jsonl', name: '../escape' }] }), /exp\.json: "tasks\[0\]\.name" contains a slash.* got "\.\.\/escape"/);
    rejects(withFields({ tasks: [{ path: 'a.jsonl', name: '' }] }), /"tasks\[0\]\.name" is empty/);
    rejects(withFields({ tasks: [{ path: 'a.jsonl', name: 5 }] }), /"tasks\[0\]\.name" is not a string/);
    rejects(withFields({ tasks: [{ path: 'a.jsonl', instruction: ['x'] }] }), /"tasks\[0\]\.instruction" must be a string, got \["x"\]/);
  });

  it('says which type a field must have and which it got', () => {
    rejects(withFields({ lr: '0.001' }), /exp\.json: "lr" must be a number \(positive\), got "0\.001" \(a string\)/);
    rejects(withFields({ steps: '10' }), /"steps" must be an integer >= 1, got "10" \(a string\)/);
    rejects(withFields({ seed: null }), /"seed" must be an integer >= 0, got null/);
    rejects(withFields({ maxTest: 2.5 }), /"maxTest" must be an integer >= 1, got 2\.5 \(a number\)/);
    rejects(withFields({ evaluateUnseen: 'yes' }), /"evaluateUnseen" must be true or false, got "yes" \(a string\)/);
    rejects(withFields({ description: ['x'] }), /"description" must be a string, got \["x"\] \(a list\)/);
    rejects(withFields({ chat: { enableThinking: 1 } }), /"chat\.enableThinking" must be true or false, got 1/);
    rejects(withFields({ chat: { date: 20250101 } }), /"chat\.date" must be a YYYY-MM-DD date, got 20250101/);
    rejects(withFields({ lora: { targets: ['q_proj', 'v_prj'] } }), /"lora\.targets" must list projections among .*, got \["q_proj", "v_prj"\] \(a list\); did you mean "v_proj"\?/);
    rejects(withFields({ lora: { targets: ['q_proj', 'q_proj'] } }), /"lora\.targets" lists a projection twice/);
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    rejects(withFields({ seed: deep }), /"seed" must be an integer >= 0, got \[\[\[\[…\]\]\]\] \(a list\)/);
  });

  it('checks a task\'s path and columns: a string path, and roles mapped to non-empty names', () => {
    rejects(withFields({ tasks: [''] }), /"tasks\[0\]" is an empty path/);
    rejects(withFields({ tasks: [{ path: 5 }] }), /"tasks\[0\]\.path" must be the path of a task file or folder \(a string\), got 5 \(an integer\)/);
    rejects(withFields({ tasks: [{ name: 'x' }] }), /"tasks\[0\]" must be a path or .*: "path" is missing/);
    rejects(withFields({ tasks: [{ path: 'a', columns: { input: 5 } }] }), /"tasks\[0\]\.columns\.input" must be the name of a field or column of the task file \(a non-empty string\), got 5 \(an integer\)/);
    rejects(withFields({ tasks: [{ path: 'a', columns: { output: '' } }] }), /"tasks\[0\]\.columns\.output" must be the name/);
    rejects(withFields({ tasks: [{ path: 'a', columns: { label: 'y' } }] }), /"tasks\[0\]\.columns\.label" is not a role; did you mean "output"\? \(columns maps input, output, instruction/);
    rejects(withFields({ tasks: [{ path: 'a', columns: ['text'] }] }), /"tasks\[0\]\.columns" must map input\/output\/instruction/);
    const exp = parseExperiment(withFields({ tasks: [{ path: 'a', columns: { input: 'body', output: 'label' } }] }), FILE);
    assert.deepEqual(exp.tasks[0].columns, { input: 'body', output: 'label' });
  });

  it('refuses a method that is not a known one, even a name every object has, suggesting the nearest', () => {
    for (const name of ['toString', 'constructor', '__proto__', '../escape']) rejects(withFields({ methods: [name] }), /"methods\[0\]" names unknown method/);
    rejects(withFields({ methods: ['seq-lora'] }), /"methods\[0\]" names unknown method "seq-lora"; did you mean "seqlora"\? \(known: /);
    rejects(withFields({ methods: [{ method: 'Replay' }] }), /names unknown method "Replay"; did you mean "replay"\?/);
    rejects(withFields({ methods: [{ method: 'ewc', lamda: 100 }] }), /method "ewc": unknown option "lamda"; did you mean "lambda"\? \(known: lambda, fisherBatches\)/);
  });

  it('refuses a result name that is not a plain folder name, or taken by the run\'s files, before anything trains', () => {
    rejects(withFields({ methods: [{ method: 'seqlora', name: '../escape' }] }), /"methods\[0\]\.name" contains a slash, a backslash or a NUL character: each method's files go in a folder of that name/);
    rejects(withFields({ methods: [{ method: 'seqlora', name: 'results.json' }] }), /"methods\[0\]\.name" is taken by the run's own files/);
    rejects(withFields({ methods: [{ method: 'seqlora', name: '.clora-x' }] }), /"methods\[0\]\.name" starts with "\.clora-"/);
    rejects(withFields({ methods: [{ method: 'seqlora', name: 7 }] }), /"methods\[0\]\.name" is not a string/);
    rejects(withFields({ methods: ['sapt', { method: 'seqlora', name: 'SAPT' }] }), /"methods" lists "SAPT" twice \(as "sapt" and "SAPT", one folder where case is ignored\)/);
  });

  it('rejects missing methods and an unknown method, listing the known ones', () => {
    const known = Object.keys(METHODS).join(', ');
    rejects(withFields({ methods: [] }), new RegExp(`"methods" must list methods \\(known: ${known}\\)`));
    rejects(withFields({ methods: ['seqlora', 'gem'] }), new RegExp(`"methods\\[1\\]" names unknown method "gem" \\(known: ${known}\\)`));
    rejects(withFields({ methods: [{ klRatio: 1 }] }), /"methods\[0\]" must be a method name or/);
  });

  it('rejects bad method options, naming the option', () => {
    rejects(withFields({ methods: [{ method: 'sapt', klRatio: -1 }] }), /method "sapt": klRatio must be non-negative, got -1/);
    rejects(withFields({ methods: [{ method: 'sapt', routerLr: 0 }] }), /method "sapt": routerLr must be positive, got 0/);
    rejects(withFields({ methods: [{ method: 'sapt', pool: 'avg' }] }), /method "sapt": pool must be one of "max", "mean", got "avg"/);
    rejects(withFields({ methods: [{ method: 'olora', lambda2: -0.5 }] }), /method "olora": lambda2 must be non-negative, got -0\.5/);
    rejects(withFields({ methods: [{ method: 'replay', replayShare: 1 }] }), /method "replay": replayShare must be in \(0, 1\)/);
    rejects(withFields({ methods: [{ method: 'conpet-dynamic', topK: 0 }] }), /method "conpet-dynamic": topK must be a positive integer/);
    rejects(withFields({ methods: [{ method: 'inclora', lambda1: 0.5 }] }), /method "inclora": unknown option "lambda1" \(known: none\)/);
    rejects(withFields({ methods: [{ method: 'lwf', temperature: '2' }] }), /method "lwf": temperature must be positive, got "2"/);
  });

  it('rejects two runs with the same name', () => {
    rejects(withFields({ methods: ['sapt', 'sapt'] }), /exp\.json: "methods" lists "sapt" twice/);
    rejects(withFields({ methods: ['sapt', { method: 'seqlora', name: 'sapt' }] }), /"methods" lists "sapt" twice/);
  });

  it('rejects a recompute that is not "auto", true or false, and a non-positive memory budget', () => {
    rejects(withFields({ recompute: 'yes' }), /exp\.json: "recompute" must be "auto", true or false, got "yes"/);
    rejects(withFields({ memoryBudgetMiB: 0 }), /exp\.json: "memoryBudgetMiB" must be positive or "auto", got 0/);
  });

  it('rejects both steps and epochs, and neither', () => {
    rejects(withFields({ steps: 10, epochs: 1 }), /exp\.json: "steps" and "epochs" cannot both be given/);
    rejects(withFields({ steps: undefined }), /exp\.json: "steps" or "epochs" is required/);
  });

  it('rejects non-integer or non-positive steps and non-positive epochs', () => {
    rejects(withFields({ steps: 0 }), /"steps" must be an integer >= 1, got 0/);
    rejects(withFields({ steps: 1.5 }), /"steps" must be an integer >= 1, got 1\.5/);
    rejects(withFields({ steps: undefined, epochs: 0 }), /"epochs" must be positive, got 0/);
  });

  it('rejects bad lora.targets', () => {
    const rule = /exp\.json: "lora\.targets" must list projections among q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/;
    rejects(withFields({ lora: { targets: ['q_proj', 'w_proj'] } }), rule);
    rejects(withFields({ lora: { targets: [] } }), rule);
    rejects(withFields({ lora: { targets: 'q_proj' } }), rule);
  });

  it('rejects bad lora.dropout, rank and alpha, and a lora that is not an object', () => {
    rejects(withFields({ lora: { dropout: 1 } }), /exp\.json: "lora\.dropout" must be in \[0, 1\), got 1/);
    rejects(withFields({ lora: { dropout: -0.1 } }), /"lora\.dropout" must be in \[0, 1\), got -0\.1/);
    rejects(withFields({ lora: { rank: 0 } }), /"lora\.rank" must be an integer >= 1, got 0/);
    rejects(withFields({ lora: { alpha: 0 } }), /"lora\.alpha" must be positive, got 0/);
    rejects(withFields({ lora: [8] }), /"lora" must be an object/);
  });

  it('rejects out-of-range shared settings', () => {
    rejects(withFields({ batchSize: 0 }), /"batchSize" must be an integer >= 1/);
    rejects(withFields({ lr: 0 }), /"lr" must be positive/);
    rejects(withFields({ maxLength: 3 }), /"maxLength" must be an integer >= 4/);
    rejects(withFields({ testFraction: 1 }), /"testFraction" must be in \(0, 1\)/);
    rejects(withFields({ seed: -1 }), /"seed" must be an integer >= 0/);
    rejects(withFields({ maxTrain: 0 }), /"maxTrain" must be an integer >= 1/);
  });
});
