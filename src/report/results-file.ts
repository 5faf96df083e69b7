// Checks that parsed JSON has the shape of a run's results.json before a report reads it, with errors that name the file and the field.
import type { RunResults } from '../cl/runner.ts';
import { FormatError } from '../io/errors.ts';
import { parseJson } from '../io/files.ts';

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => x !== null && typeof x === 'object' && !Array.isArray(x);
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isNumberOrNull = (x: unknown): boolean => x === null || isNumber(x);

/**
 * Returns `json` typed as RunResults when it has every field a report reads: settings, tasks
 * (name, metric, sizes), and per method its score matrix (or null for a joint method), final
 * scores, metrics and timings. Runs still going (null cells, fewer timings) pass. Otherwise throws
 * a FormatError whose one-line message reads `file: not a clora results.json: "field" problem`.
 */
export function parseRunResults(json: unknown, file: string): RunResults {
  const fail = (field: string, problem: string): never => {
    throw new FormatError(file, `not a clora results.json: ${field ? `"${field}" ` : ''}${problem}`);
  };
  const need = (ok: boolean, field: string, problem: string) => {
    if (!ok) fail(field, problem);
  };
  const numbers = (x: unknown, field: string, nullable: boolean) => {
    need(Array.isArray(x) && x.every(nullable ? isNumberOrNull : isNumber), field, `must be a list of numbers${nullable ? ' (or null)' : ''}`);
  };
  if (!isObject(json)) return fail('', 'expected a JSON object');
  need(json.version === 1, 'version', `must be 1, got ${JSON.stringify(json.version)}`);
  need(isObject(json.model), 'model', 'must be an object');
  const s = json.settings;
  if (!isObject(s)) return fail('settings', 'must be an object');
  for (const key of ['seed', 'batchSize', 'lr', 'maxLength']) need(isNumber(s[key]), `settings.${key}`, 'must be a number');
  for (const key of ['steps', 'epochs']) need(s[key] === undefined || isNumberOrNull(s[key]), `settings.${key}`, 'must be a number or null');
  const lora = s.lora;
  if (!isObject(lora)) return fail('settings.lora', 'must be an object');
  for (const key of ['rank', 'alpha', 'dropout']) need(isNumber(lora[key]), `settings.lora.${key}`, 'must be a number');
  need(Array.isArray(lora.targets) && lora.targets.every((t) => typeof t === 'string'), 'settings.lora.targets', 'must be a list of names');
  if (!Array.isArray(json.tasks)) return fail('tasks', 'must be a list');
  json.tasks.forEach((t: unknown, i) => {
    if (!isObject(t)) return fail(`tasks[${i}]`, 'must be an object');
    need(typeof t.name === 'string', `tasks[${i}].name`, 'must be a string');
    need(t.metric === 'em' || t.metric === 'rougeL', `tasks[${i}].metric`, 'must be "em" or "rougeL"');
    need(isNumber(t.train) && isNumber(t.test), `tasks[${i}]`, 'must give "train" and "test" sizes');
    if (t.baselines !== undefined) {
      const b = t.baselines;
      const score = (v: unknown) => v === null || isNumber(v);
      need(isObject(b) && score(b.majority) && score(b.chance) && (b.majorityLabel === null || typeof b.majorityLabel === 'string'),
        `tasks[${i}].baselines`, 'must be {"majorityLabel", "majority", "chance"} (strings, numbers or null)');
    }
  });
  if (!isObject(json.methods) || Object.keys(json.methods).length === 0) return fail('methods', 'must be an object with at least one method');
  for (const [name, m] of Object.entries(json.methods)) {
    const at = `methods.${name}`;
    if (!isObject(m)) return fail(at, 'must be an object');
    need(typeof m.method === 'string', `${at}.method`, 'must be a string');
    if (m.matrix !== null) {
      need(Array.isArray(m.matrix), `${at}.matrix`, 'must be a list of rows or null');
      (m.matrix as unknown[]).forEach((row, k) => numbers(row, `${at}.matrix[${k}]`, true));
    }
    numbers(m.final, `${at}.final`, true);
    need(m.metrics === null || isObject(m.metrics), `${at}.metrics`, 'must be an object or null');
    if (isObject(m.metrics)) for (const key of ['ap', 'fra', 'bwt', 'fwt']) need(isNumberOrNull(m.metrics[key]), `${at}.metrics.${key}`, 'must be a number or null');
    const timings = m.timings;
    if (!isObject(timings)) return fail(`${at}.timings`, 'must be an object');
    numbers(timings.trainSeconds, `${at}.timings.trainSeconds`, false);
    numbers(timings.evalSeconds, `${at}.timings.evalSeconds`, false);
  }
  need(json.singleTask === undefined || json.singleTask === null || Array.isArray(json.singleTask), 'singleTask', 'must be a list or null');
  if (Array.isArray(json.singleTask)) numbers(json.singleTask, 'singleTask', true);
  return json as unknown as RunResults;
}

/** The text of a results.json, parsed and checked; errors name `file` and the JSON line or the field at fault. */
export function parseRunResultsText(text: string, file: string): RunResults {
  return parseRunResults(parseJson(text, file), file);
}
