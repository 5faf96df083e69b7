// The one sentence the model panel shows when a model fails to load (the model loaded before stays loaded).
import type { ModelChoice } from '../../worker/model-store.ts';

/**
 * What to say when a model fails to load, in one sentence without a stack: a request that never got an answer (the
 * browser's "Failed to fetch", a TypeError) means the network or the Hub is unreachable; anything else is the
 * reader's or the Hub's own message (its first line).
 */
export function modelLoadProblem(e: unknown, choice: ModelChoice): string {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof TypeError && /fetch|network|load failed/i.test(message)) {
    return choice.kind === 'hub'
      ? 'The Hugging Face Hub could not be reached: the network is unreachable (or the address is wrong).'
      : 'The model files could not be fetched: the network is unreachable.';
  }
  const line = message.split('\n')[0].trim();
  return line || 'The model could not be loaded.';
}
