// Negative numbers as option values (src/cli/command-io.ts): `--labels -100,5` is the value -100,5, not an option.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { negativeValues, parseCommandArgs } from '../../src/cli/command-io.ts';

describe('negative option values', () => {
  const options = { labels: { type: 'string' }, names: { type: 'string', short: 'n' }, quiet: { type: 'boolean' } } as const;

  it('joins a value starting with a minus and a digit to its string option, long or short', () => {
    assert.deepEqual(negativeValues(['--labels', '-100,5', 'x'], options), ['--labels=-100,5', 'x']);
    assert.deepEqual(negativeValues(['-n', '-1'], options), ['--names=-1']);
    // Not after a boolean option, not a word that is an option, not an unknown option.
    assert.deepEqual(negativeValues(['--quiet', '-5'], options), ['--quiet', '-5']);
    assert.deepEqual(negativeValues(['--labels', '--quiet'], options), ['--labels', '--quiet']);
    assert.deepEqual(negativeValues(['--other', '-5'], options), ['--other', '-5']);
  });

  it('parseCommandArgs takes --labels -100,5 as a value', () => {
    const parsed = parseCommandArgs(['--labels', '-100,5'], { labels: { type: 'string' } });
    assert.equal(parsed!.values.labels, '-100,5');
  });
});
