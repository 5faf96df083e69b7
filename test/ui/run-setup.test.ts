// Tests the "Methods and settings" panel: option specs against the methods' code, defaults and validation against parseExperiment, list edits, and the rendered markup.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { describe, test } from 'node:test';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { parseExperiment, type MethodRef } from '../../src/cl/experiment.ts';
import { createMethod, METHODS } from '../../src/cl/methods/index.ts';
import { PROJ_NAMES } from '../../src/model/peft.ts';
import {
  defaultRunSettings, EVALUATE_UNSEEN_HELP, isChoiceSpec, experimentFileFields, getSetting, METHOD_OPTIONS, methodOptionSpecs, setSetting, SETTING_SPECS,
  settingsProblems, TARGETS_HELP, toggleTarget, validateSettings,
  type NumberSpec,
} from '../../src/ui/run-setup/method-options.ts';
import {
  addMethod, changedOptionCount, nextResultName, removeEntry, removeMethod, renameEntry, resetOptions, setOption,
} from '../../src/ui/run-setup/method-picks.ts';
import type { RunSettings } from '../../src/worker/run-job.ts';

// The components import their stylesheet, which Vite handles; here a .css import is an empty module.
register('data:text/javascript,' + encodeURIComponent(
  "export async function load(url, context, next) { return url.endsWith('.css') ? { format: 'module', source: '', shortCircuit: true } : next(url, context); }",
));
const { RunSetupPanel } = await import('../../src/ui/run-setup/RunSetupPanel.tsx');

/** Every option of a method at its listed default (options whose default is "unset" are left out). */
function defaultsOf(method: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const o of methodOptionSpecs(method)) if (o.default !== null) out[o.key] = o.default;
  return out;
}

/** The options a method's create function accepts, read from its unknown-option error. */
function knownOptions(method: string): string[] {
  try {
    createMethod(method, { __probe__: 1 });
  } catch (e) {
    const m = /\(known: ([^)]*)\)/.exec((e as Error).message);
    assert.ok(m, `unexpected error: ${(e as Error).message}`);
    return m[1] === 'none' ? [] : m[1].split(', ');
  }
  assert.fail(`${method} accepted an unknown option`);
}

/**
 * The defaults in the methods' source: numberOption(opts, 'key', default, …) and
 * choiceOption(opts, 'key', CHOICES, 'default', …) → key → defaults seen.
 */
function sourceDefaults(): Map<string, (number | string)[]> {
  const dir = new URL('../../src/cl/methods/', import.meta.url);
  const out = new Map<string, (number | string)[]>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    for (const m of text.matchAll(/numberOption\(opts, '(\w+)', ([^,]+),/g)) out.set(m[1], [...(out.get(m[1]) ?? []), Number(m[2])]);
    for (const m of text.matchAll(/choiceOption\(opts, '(\w+)', \w+, '([^']*)',/g)) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

/** The numeric options of every method, with their method. */
const numberSpecs = () => Object.entries(METHOD_OPTIONS).flatMap(([method, specs]) => specs.filter((o) => !isChoiceSpec(o)).map((o) => ({ method, o: o as NumberSpec })));

/** What parseExperiment makes of the settings inside an experiment file, less the model and tasks. */
function parsed(s: RunSettings): RunSettings {
  const { model: _m, tasks: _t, ...rest } = parseExperiment({ model: 'm', tasks: ['a.jsonl'], ...experimentFileFields(s) }, 'exp.json');
  return rest;
}

const ref = (method: string, name = method, options: Record<string, unknown> = {}): MethodRef => ({ method, name, options });

describe('method option specs', () => {
  test('cover exactly the methods of the registry', () => {
    assert.deepEqual(Object.keys(METHOD_OPTIONS).sort(), Object.keys(METHODS).sort());
  });

  test('every method accepts all its listed options at their defaults', () => {
    for (const method of Object.keys(METHODS)) {
      assert.doesNotThrow(() => createMethod(method, defaultsOf(method)), method);
    }
  });

  test('list every option the method accepts, once', () => {
    for (const method of Object.keys(METHODS)) {
      const keys = methodOptionSpecs(method).map((o) => o.key);
      assert.equal(new Set(keys).size, keys.length, `${method} lists an option twice`);
      assert.deepEqual([...keys].sort(), knownOptions(method).sort(), method);
    }
  });

  test('defaults are the ones in the methods’ code', () => {
    const code = sourceDefaults();
    for (const [method, specs] of Object.entries(METHOD_OPTIONS)) {
      for (const o of specs) {
        if (o.default === null) continue;
        assert.ok(code.get(o.key)?.includes(o.default), `${method}.${o.key}: listed default ${o.default}, code has ${code.get(o.key)}`);
      }
    }
  });

  test('options without a default ("unset") say what empty means and accept a value', () => {
    const unset = numberSpecs().filter(({ o }) => o.default === null);
    assert.deepEqual(unset.map((u) => `${u.method}.${u.o.key}`), ['sapt.routerLr']);
    for (const { method, o } of unset) {
      assert.ok(o.emptyMeans, `${method}.${o.key} needs emptyMeans`);
      assert.doesNotThrow(() => createMethod(method, { [o.key]: 1e-3 }));
    }
  });

  test('bounds are not looser than the code: just outside min or max, or a fraction for integers, is rejected', () => {
    for (const { method, o } of numberSpecs()) {
      {
        const base = o.default ?? 1e-3;
        if (o.min !== undefined) assert.throws(() => createMethod(method, { [o.key]: o.min! - (o.integer ? 1 : 1e-6) }), Error, `${method}.${o.key} below min`);
        if (o.max !== undefined) assert.throws(() => createMethod(method, { [o.key]: o.max! + 1e-6 }), Error, `${method}.${o.key} above max`);
        if (o.integer) assert.throws(() => createMethod(method, { [o.key]: base + 0.5 }), Error, `${method}.${o.key} fraction`);
        if (o.min !== undefined && o.default !== null) assert.ok(o.default >= o.min, `${method}.${o.key} default below min`);
        if (o.max !== undefined && o.default !== null) assert.ok(o.default <= o.max, `${method}.${o.key} default above max`);
      }
    }
  });

  test('choice options accept every listed value and reject others, naming the choices', () => {
    const choices = Object.entries(METHOD_OPTIONS).flatMap(([method, specs]) => specs.filter(isChoiceSpec).map((o) => ({ method, o })));
    assert.deepEqual(choices.map((c) => `${c.method}.${c.o.key}`), ['sapt.pool']);
    for (const { method, o } of choices) {
      assert.ok(o.choices.some((c) => c.value === o.default), `${method}.${o.key}: the default is one of the choices`);
      for (const c of o.choices) assert.doesNotThrow(() => createMethod(method, { [o.key]: c.value }), `${method}.${o.key} = ${c.value}`);
      assert.throws(() => createMethod(method, { [o.key]: 'nope' }), (e: Error) => {
        assert.match(e.message, new RegExp(`${o.key} must be one of .*got "nope"`));
        for (const c of o.choices) assert.ok(e.message.includes(`"${c.value}"`), `the error names "${c.value}": ${e.message}`);
        return true;
      });
      assert.throws(() => createMethod(method, { [o.key]: 1 }), new RegExp(`${o.key} must be one of`));
    }
  });

  test('every option and setting has a label and one or two sentences of help', () => {
    const all = [...Object.values(METHOD_OPTIONS).flat(), ...SETTING_SPECS];
    const helps = [...all.map((o) => o.help), EVALUATE_UNSEEN_HELP, TARGETS_HELP];
    for (const o of all) assert.ok(o.label.trim().length > 0, o.key);
    for (const h of helps) {
      assert.match(h, /[.)]$/, h);
      const sentences = h.split(/\.\s+(?=[A-Z0-9])/).length;
      assert.ok(sentences >= 1 && sentences <= 2, `${sentences} sentences: ${h}`);
    }
  });
});

describe('defaultRunSettings', () => {
  test('are the small browser defaults', () => {
    const s = defaultRunSettings();
    assert.deepEqual(s.methods.map((m) => m.name), ['seqlora', 'replay']);
    assert.deepEqual(
      [s.steps, s.epochs, s.batchSize, s.lr, s.maxLength, s.maxNewTokens, s.seed, s.testFraction, s.evaluateUnseen],
      [30, null, 8, 5e-3, 64, 8, 0, 0.2, false],
    );
    assert.deepEqual(s.lora, { rank: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] });
    assert.notEqual(defaultRunSettings().methods, s.methods, 'a fresh object each call');
  });

  test('pass validateSettings and round-trip through parseExperiment unchanged', () => {
    const s = defaultRunSettings();
    assert.deepEqual(validateSettings(s), []);
    assert.deepEqual(parsed(s), s);
  });

  test('every method with every option at its default round-trips too', () => {
    const s: RunSettings = { ...defaultRunSettings(), methods: Object.keys(METHODS).map((m) => ref(m, m, defaultsOf(m))) };
    assert.deepEqual(validateSettings(s), []);
    assert.deepEqual(parsed(s), s);
  });

  test('the settings specs’ defaults are those values', () => {
    const s = defaultRunSettings();
    for (const spec of SETTING_SPECS) assert.equal(spec.default, getSetting(s, spec.key), spec.key);
  });
});

describe('validateSettings', () => {
  const d = defaultRunSettings;
  const broken: [string, RunSettings, string][] = [
    ['no method', { ...d(), methods: [] }, 'methods'],
    ['unknown method', { ...d(), methods: [ref('nope')] }, 'methods[0]'],
    ['duplicate result names', { ...d(), methods: [ref('sapt'), ref('sapt', 'sapt', { klRatio: 0.5 })] }, 'methods'],
    ['empty result name', { ...d(), methods: [ref('replay', '')] }, 'methods[0].name'],
    ['option out of range', { ...d(), methods: [ref('replay', 'replay', { replayShare: 1.5 })] }, 'methods[0].replayShare'],
    ['negative option', { ...d(), methods: [ref('seqlora'), ref('sapt', 'sapt', { klRatio: -1 })] }, 'methods[1].klRatio'],
    ['cleared option', { ...d(), methods: [ref('ewc', 'ewc', { lambda: Number.NaN })] }, 'methods[0].lambda'],
    ['fractional integer option', { ...d(), methods: [ref('conpet-dynamic', 'c', { topK: 1.5 })] }, 'methods[0].topK'],
    ['unknown option', { ...d(), methods: [ref('seqlora', 'seqlora', { lambda: 1 })] }, 'methods[0]'],
    ['zero steps', { ...d(), steps: 0 }, 'steps'],
    ['fractional steps', { ...d(), steps: 1.5 }, 'steps'],
    ['no steps nor epochs', { ...d(), steps: null }, 'steps'],
    ['steps and epochs', { ...d(), epochs: 2 }, 'steps'],
    ['zero epochs', { ...d(), steps: null, epochs: 0 }, 'epochs'],
    ['zero batch', { ...d(), batchSize: 0 }, 'batchSize'],
    ['zero lr', { ...d(), lr: 0 }, 'lr'],
    ['cleared lr', { ...d(), lr: Number.NaN }, 'lr'],
    ['short maxLength', { ...d(), maxLength: 3 }, 'maxLength'],
    ['zero maxNewTokens', { ...d(), maxNewTokens: 0 }, 'maxNewTokens'],
    ['negative seed', { ...d(), seed: -1 }, 'seed'],
    ['testFraction 1', { ...d(), testFraction: 1 }, 'testFraction'],
    ['testFraction 0', { ...d(), testFraction: 0 }, 'testFraction'],
    ['zero maxTrain', { ...d(), maxTrain: 0 }, 'maxTrain'],
    ['fractional maxTest', { ...d(), maxTest: 2.5 }, 'maxTest'],
    ['zero rank', { ...d(), lora: { ...d().lora, rank: 0 } }, 'lora.rank'],
    ['zero alpha', { ...d(), lora: { ...d().lora, alpha: 0 } }, 'lora.alpha'],
    ['dropout 1', { ...d(), lora: { ...d().lora, dropout: 1 } }, 'lora.dropout'],
    ['no targets', { ...d(), lora: { ...d().lora, targets: [] } }, 'lora.targets'],
    ['zero memory budget', { ...d(), memoryBudgetMiB: 0 }, 'memoryBudgetMiB'],
  ];
  for (const [what, s, field] of broken) {
    test(`${what}: reported on ${field}, and parseExperiment rejects it too`, () => {
      const problems = settingsProblems(s);
      assert.ok(problems.some((p) => p.field === field), `${JSON.stringify(problems)}`);
      assert.equal(validateSettings(s).length, problems.length);
      assert.throws(() => parsed(s));
    });
  }

  test('messages name the field by its label or the method’s result name', () => {
    assert.match(validateSettings({ ...d(), lora: { ...d().lora, rank: 0 } })[0], /LoRA rank/);
    assert.match(validateSettings({ ...d(), lr: Number.NaN })[0], /^Learning rate needs a number \(positive\)\.$/);
    assert.match(validateSettings({ ...d(), methods: [ref('sapt', 'sapt-2', { klRatio: -1 })] })[0], /^sapt-2: klRatio must be non-negative/);
    assert.match(validateSettings({ ...d(), methods: [ref('ewc', 'ewc', { lambda: Number.NaN })] })[0], /^ewc: Penalty λ \(lambda\) needs a number/);
    assert.match(validateSettings({ ...d(), methods: [] })[0], /at least one method/);
  });

  const fine: [string, RunSettings][] = [
    ['epochs instead of steps', { ...d(), steps: null, epochs: 2 }],
    ['subsets', { ...d(), maxTrain: 100, maxTest: 20 }],
    ['recomputation forced on, a smaller budget', { ...d(), recompute: true, memoryBudgetMiB: 512 }],
    ['recomputation off', { ...d(), recompute: false }],
    ['all targets, dropout, unseen tasks', { ...d(), evaluateUnseen: true, lora: { rank: 4, alpha: 32, dropout: 0.5, targets: [...PROJ_NAMES] } }],
    ['one method run twice', { ...d(), methods: [ref('sapt'), ref('sapt', 'sapt-2', { klRatio: 0.5, routerLr: 1e-3 }), ref('oracle')] }],
  ];
  for (const [what, s] of fine) {
    test(`${what}: accepted by both and round-trips`, () => {
      assert.deepEqual(validateSettings(s), []);
      assert.deepEqual(parsed(s), s);
    });
  }
});

describe('setting edits', () => {
  test('setSetting reaches the LoRA fields; clearing a required field gives NaN and a problem, an optional one null', () => {
    let s = setSetting(defaultRunSettings(), 'rank', 16);
    assert.equal(s.lora.rank, 16);
    s = setSetting(s, 'batchSize', null);
    assert.ok(Number.isNaN(s.batchSize));
    assert.ok(settingsProblems(s).some((p) => p.field === 'batchSize'));
    s = setSetting({ ...s, batchSize: 8, maxTest: 5 }, 'maxTest', null);
    assert.equal(s.maxTest, null);
    assert.deepEqual(validateSettings(s), []);
  });

  test('typing steps replaces epochs', () => {
    const s = setSetting({ ...defaultRunSettings(), steps: null, epochs: 3 }, 'steps', 12);
    assert.deepEqual([s.steps, s.epochs], [12, null]);
  });

  test('toggleTarget keeps the model’s projection order', () => {
    let s = toggleTarget(defaultRunSettings(), 'down_proj', true);
    s = toggleTarget(s, 'k_proj', true);
    assert.deepEqual(s.lora.targets, ['q_proj', 'k_proj', 'v_proj', 'down_proj']);
    assert.deepEqual(toggleTarget(s, 'q_proj', false).lora.targets, ['k_proj', 'v_proj', 'down_proj']);
  });
});

describe('method list edits', () => {
  test('nextResultName picks the first free name', () => {
    assert.equal(nextResultName('sapt', []), 'sapt');
    assert.equal(nextResultName('sapt', ['sapt']), 'sapt-2');
    assert.equal(nextResultName('sapt', ['sapt', 'sapt-2', 'sapt-4']), 'sapt-3');
  });

  test('addMethod groups entries of a method and keeps the registry order', () => {
    let m = addMethod([], 'sapt');
    m = addMethod(m, 'seqlora');
    m = addMethod(m, 'oracle');
    m = addMethod(m, 'sapt');
    assert.deepEqual(m.map((r) => r.name), ['seqlora', 'sapt', 'sapt-2', 'oracle']);
    assert.deepEqual(m[2], { method: 'sapt', name: 'sapt-2', options: {} });
    assert.deepEqual(removeMethod(m, 'sapt').map((r) => r.name), ['seqlora', 'oracle']);
    assert.deepEqual(removeEntry(m, 1).map((r) => r.name), ['seqlora', 'sapt-2', 'oracle']);
  });

  test('a name taken by a rename is skipped', () => {
    const m = renameEntry(addMethod(addMethod([], 'replay'), 'replay'), 1, 'replay-3');
    assert.deepEqual(addMethod(m, 'replay').map((r) => r.name), ['replay', 'replay-3', 'replay-2']);
  });

  test('setOption, reset and the changed count', () => {
    let m = addMethod([], 'sapt');
    m = setOption(m, 0, 'klRatio', 0.5);
    m = setOption(m, 0, 'bottleneck', 100);
    assert.deepEqual(m[0].options, { klRatio: 0.5, bottleneck: 100 });
    assert.equal(changedOptionCount(m[0]), 1, 'a value equal to the default is not a change');
    assert.deepEqual(setOption(m, 0, 'klRatio', undefined)[0].options, { bottleneck: 100 });
    assert.deepEqual(resetOptions(m, 0)[0].options, {});
  });
});

describe('RunSetupPanel markup', () => {
  const render = (value: RunSettings, disabled = false) => renderToStaticMarkup(createElement(RunSetupPanel, { value, onChange() {}, disabled }));
  const ids = (html: string) => [...html.matchAll(/data-testid="([^"]+)"/g)].map((m) => m[1]);

  test('has the panel, a toggle per method, an entry per selected method and the settings fields', () => {
    const html = render(defaultRunSettings());
    const found = ids(html);
    const wanted = [
      'run-setup-panel', ...Object.keys(METHODS).map((m) => `method-toggle-${m}`), 'method-options-seqlora', 'method-options-replay',
      'setting-steps', 'setting-batchSize', 'setting-lr', 'setting-seed', 'setting-maxLength', 'setting-maxNewTokens', 'setting-rank', 'setting-alpha',
      'setting-dropout', 'setting-testFraction', 'setting-evaluateUnseen', ...PROJ_NAMES.map((p) => `setting-target-${p}`),
    ];
    for (const id of wanted) assert.ok(found.includes(id), id);
    assert.ok(!found.includes('settings-problems'), 'no problems list when the settings are valid');
    assert.match(html, /data-testid="method-toggle-replay"[^>]*checked/);
    assert.doesNotMatch(html, /data-testid="method-toggle-sapt"[^>]*checked/);
  });

  test('every label points at an element that exists', () => {
    const html = render({ ...defaultRunSettings(), methods: addMethod(addMethod([], 'sapt'), 'sapt') });
    const targets = [...html.matchAll(/<label[^>]* for="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(targets.length > 15);
    for (const id of targets) assert.ok(html.includes(`id="${id}"`), id);
  });

  test('an added second entry starts open with its options; the first stays closed', () => {
    const html = render({ ...defaultRunSettings(), methods: addMethod(addMethod([], 'sapt'), 'sapt') });
    const found = ids(html);
    assert.ok(found.includes('method-options-sapt') && found.includes('method-options-sapt-2'));
    assert.ok(found.includes('method-option-sapt-2-klRatio'));
    assert.ok(!found.includes('method-option-sapt-klRatio'));
    assert.match(html, />ARM KL ratio <code[^>]*>klRatio<\/code><\/label>/);
  });

  test('the merging methods are in the picker with their options and help', () => {
    let methods = addMethod([], 'opcm');
    // A second entry of each starts open, showing its options.
    for (const m of ['opcm', 'merge-ta', 'merge-ta', 'merge-avg', 'merge-avg']) methods = addMethod(methods, m);
    const html = render({ ...defaultRunSettings(), methods: addMethod(methods, 'opcm') });
    const found = ids(html);
    for (const id of [
      'method-toggle-opcm', 'method-toggle-merge-ta', 'method-toggle-merge-avg', 'method-options-opcm', 'method-options-merge-ta', 'method-options-merge-avg',
      'method-option-opcm-2-alpha', 'method-option-opcm-2-rankCap', 'method-option-merge-ta-2-lambda', 'method-option-merge-ta-2-rankCap', 'method-option-merge-avg-2-rankCap',
    ]) {
      assert.ok(found.includes(id), id);
    }
    assert.deepEqual(methodOptionSpecs('opcm').map((o) => [o.key, o.default]), [['alpha', 0.5], ['rankCap', 0]]);
    assert.deepEqual(methodOptionSpecs('merge-ta').map((o) => [o.key, o.default]), [['lambda', 0.3], ['rankCap', 0]]);
    assert.deepEqual(methodOptionSpecs('merge-avg').map((o) => [o.key, o.default]), [['rankCap', 0]]);
    assert.match(html, />Spectrum share α <code[^>]*>alpha<\/code><\/label>/);
    assert.match(html, />Scaling λ <code[^>]*>lambda<\/code><\/label>/);
    assert.match(html, /dominant singular directions/);
  });

  test('problems are listed and fields marked', () => {
    const html = render({ ...defaultRunSettings(), lr: 0 });
    assert.ok(ids(html).includes('settings-problems'));
    assert.match(html, /Learning rate must be positive/);
    assert.match(html, /data-testid="setting-lr"[^>]*aria-invalid="true"/);
  });

  test('disabled locks every input', () => {
    const html = render(defaultRunSettings(), true);
    const inputs = [...html.matchAll(/<input[^>]*>/g)].map((m) => m[0]);
    assert.ok(inputs.length > 20);
    for (const i of inputs) assert.match(i, /disabled=""/);
  });
});
