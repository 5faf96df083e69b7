// Model ids as people write them (`org/name`, `org/name@revision`) and the Hub's naming rules for repos, revisions and commits.
import { HubError } from './errors.ts';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** A repository and the revision asked for: a branch, a tag or a 40-hex commit. */
export interface ModelRef {
  repo: string;
  revision: string;
}

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9._-]+$/;

/** True for a full commit hash, which names a snapshot without asking the Hub. */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** Whether `text` reads as a Hub id (owner/name[@revision]) rather than a folder path. */
export function looksLikeModelId(text: string): boolean {
  const at = text.indexOf('@');
  const repo = at < 0 ? text : text.slice(0, at);
  return REPO_ID.test(repo) && !repo.includes('..') && !repo.startsWith('.');
}

/** Checks a repository id; throws a one-sentence HubError naming it. */
export function checkRepoId(repo: string): string {
  if (!REPO_ID.test(repo) || repo.includes('..') || repo.includes('--') || repo.endsWith('.') || repo.length > 96) {
    throw new HubError('bad-id', `"${repo}" is not a Hugging Face model id (owner/name, letters, digits, ".", "_" and "-").`);
  }
  return repo;
}

/** Parses `org/name` or `org/name@revision` (default revision "main"). */
export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf('@');
  const repo = checkRepoId(at < 0 ? text : text.slice(0, at));
  const revision = at < 0 ? 'main' : text.slice(at + 1);
  if (revision.length === 0) throw new HubError('bad-id', `"${text}" has an empty revision after "@".`);
  return { repo, revision };
}

/** The endpoint without trailing slashes, checked to be an http(s) URL. */
export function normaliseEndpoint(endpoint: string | undefined | null): string {
  const e = (endpoint ?? '').trim() || DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(e);
  } catch {
    throw new HubError('bad-id', `the Hub address "${e}" is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HubError('bad-id', `the Hub address "${e}" is not an http(s) URL.`);
  return e.replace(/\/+$/, '');
}

/** The repository's page on the Hub, where a gated model's licence is accepted. */
export function repoPage(endpoint: string, repo: string): string {
  return `${endpoint}/${repo}`;
}

/** The URL of one file at a revision (huggingface_hub's hf_hub_url). */
export function resolveUrl(endpoint: string, repo: string, revision: string, path: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The API URL that resolves a revision to a commit and lists its files with sizes and hashes. */
export function revisionApiUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
}
