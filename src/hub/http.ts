// The Hub's HTTP rules in one place: the token only for the endpoint's origin, retries with exponential backoff that
// honour Retry-After (429 and 5xx), redirects followed by hand where the runtime allows, and X-Error-Code read into HubErrors.
import { HubError } from './errors.ts';
import { repoPage } from './repo-id.ts';

export interface HubHttpOptions {
  /** The Hub or a mirror (HF_ENDPOINT), without a trailing slash. */
  endpoint: string;
  /** Sent as `Authorization: Bearer` to the endpoint's origin only, never to a CDN it redirects to. */
  token?: string | null;
  fetch?: typeof fetch;
  /** Tries after the first (huggingface_hub's http_backoff: 5). */
  retries?: number;
  /** First backoff wait; doubles each try up to `maxDelayMs` (huggingface_hub: 1 s, 8 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is reported instead. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told about every wait before a retry (status 0: a network failure). */
  onRetry?: (info: { url: string; status: number; attempt: number; waitMs: number }) => void;
  /**
   * Follow redirects in this code (Node) so the Authorization header is dropped by rule when a redirect leaves the
   * endpoint's origin. Browsers hide a manual redirect's Location; there fetch follows them and, per the Fetch
   * standard, itself drops Authorization on a cross-origin redirect. Default: manual outside browsers.
   */
  manualRedirects?: boolean;
  signal?: AbortSignal;
}

/** What a request was for, so that an error can say which repo, revision or file it concerns. */
export interface RequestSubject {
  repo: string;
  revision?: string;
  file?: string;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });

const inBrowser = () => typeof (globalThis as { document?: unknown }).document !== 'undefined' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

/** True for errors fetch throws when the connection fails or is cut (not for aborts). */
export function isNetworkError(e: unknown): boolean {
  if (e instanceof HubError) return false;
  const name = (e as { name?: string } | null)?.name;
  if (name === 'AbortError') return false;
  return e instanceof TypeError || (e as { code?: string } | null)?.code === 'ECONNRESET' || name === 'SocketError';
}

function shortCause(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

export class HubHttp {
  readonly endpoint: string;
  private readonly origin: string;
  private readonly token: string | null;
  private readonly doFetch: typeof fetch;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly onRetry: HubHttpOptions['onRetry'];
  private readonly manual: boolean;
  readonly signal: AbortSignal | undefined;

  constructor(o: HubHttpOptions) {
    this.endpoint = o.endpoint;
    this.origin = new URL(o.endpoint).origin;
    this.token = o.token?.trim() || null;
    this.doFetch = o.fetch ?? ((input, init) => fetch(input, init));
    this.retries = o.retries ?? 5;
    this.baseDelayMs = o.baseDelayMs ?? 1000;
    this.maxDelayMs = o.maxDelayMs ?? 8000;
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? 120_000;
    this.sleep = o.sleep ?? defaultSleep;
    this.onRetry = o.onRetry;
    this.manual = o.manualRedirects ?? !inBrowser();
    this.signal = o.signal;
  }

  get hasToken(): boolean {
    return this.token !== null;
  }

  /** The wait before retry number `attempt` (0-based): Retry-After when the server sent one, else exponential backoff. */
  private delay(attempt: number, res: Response | null): number {
    const after = res ? retryAfterMs(res.headers.get('retry-after')) : null;
    if (after !== null) return after;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt);
  }

  /** Waits before another try, or returns false when the tries are used up (or Retry-After asks for too long). */
  async backoff(url: string, attempt: number, res: Response | null): Promise<boolean> {
    if (attempt >= this.retries) return false;
    const waitMs = this.delay(attempt, res);
    if (waitMs > this.maxRetryAfterMs) return false;
    this.onRetry?.({ url, status: res?.status ?? 0, attempt: attempt + 1, waitMs });
    await this.sleep(waitMs, this.signal);
    return true;
  }

  private headersFor(url: string, extra: Record<string, string>): Headers {
    const h = new Headers(extra);
    if (this.token && new URL(url).origin === this.origin) h.set('authorization', `Bearer ${this.token}`);
    return h;
  }

  /** One GET, following redirects (by hand when `manual`) and attaching the token only on the endpoint's origin. */
  private async getOnce(url: string, extra: Record<string, string>): Promise<Response> {
    let current = url;
    for (let hop = 0; hop < 10; hop++) {
      const res = await this.doFetch(current, { headers: this.headersFor(current, extra), redirect: this.manual ? 'manual' : 'follow', signal: this.signal });
      if (!this.manual || res.status < 300 || res.status >= 400 || res.status === 304) return res;
      const location = res.headers.get('location');
      void res.body?.cancel();
      if (!location) throw new HubError('server', `${this.endpoint} answered ${res.status} without a Location for ${current}.`, { status: res.status });
      current = new URL(location, current).toString();
    }
    throw new HubError('server', `too many redirects from ${url}.`);
  }

  /**
   * A GET that retries network failures, 429 and 5xx with backoff, and turns other failures into HubErrors about
   * `subject`. Returns a 2xx response (its body not yet read).
   */
  async get(url: string, subject: RequestSubject, extra: Record<string, string> = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.getOnce(url, extra);
      } catch (e) {
        if (!isNetworkError(e)) throw e;
        if (await this.backoff(url, attempt, null)) continue;
        throw new HubError('network', `cannot reach ${this.endpoint} (${shortCause(e)}).`, { cause: e });
      }
      if (res.ok) return res;
      if (res.status === 429 || res.status >= 500) {
        if (await this.backoff(url, attempt, res)) {
          void res.body?.cancel();
          continue;
        }
      }
      throw await this.errorFor(res, subject, attempt + 1);
    }
  }

  /** huggingface_hub's hf_raise_for_status, as one-sentence HubErrors. */
  async errorFor(res: Response, s: RequestSubject, tries: number): Promise<HubError> {
    const code = res.headers.get('x-error-code');
    const message = res.headers.get('x-error-message') ?? (await res.text().catch(() => '')).slice(0, 300);
    void res.body?.cancel().catch(() => {});
    const page = repoPage(this.endpoint, s.repo);
    const status = res.status;
    const rev = s.revision ? `@${s.revision}` : '';
    if (code === 'GatedRepo') {
      const how = this.hasToken ? 'the token\'s account has not been granted access' : 'no token was given';
      return new HubError('gated', `${s.repo} is a gated model (${how}): accept its licence at ${page}, then use a token of that account.`, { repoUrl: page, status });
    }
    if (code === 'RevisionNotFound') return new HubError('revision-not-found', `${s.repo} has no revision "${s.revision ?? ''}" (a branch, tag or commit) on ${this.endpoint}.`, { status });
    if (code === 'EntryNotFound') return new HubError('entry-not-found', `${s.repo}${rev} has no file ${s.file ?? ''}.`, { status });
    if (status === 401 && /invalid credentials|invalid user token|invalid token/i.test(message)) {
      return new HubError('bad-token', `${this.endpoint} refused the access token (invalid credentials); check HF_TOKEN or the token field.`, { status });
    }
    if (code === 'RepoNotFound' || status === 401 || (status === 404 && !s.file)) {
      const hint = this.hasToken ? '' : ' (a private repo needs a token)';
      return new HubError('repo-not-found', `${s.repo} is not a model repository on ${this.endpoint}${hint}.`, { status });
    }
    if (status === 404) return new HubError('entry-not-found', `${s.repo}${rev} has no file ${s.file}.`, { status });
    if (status === 403) return new HubError('forbidden', `${this.endpoint} refused access to ${s.repo} (403${message ? `: ${message.replace(/\.$/, '')}` : ''}).`, { status });
    if (status === 429) return new HubError('rate-limited', `${this.endpoint} is rate limiting requests (429) after ${tries} tries; wait a while and try again.`, { status });
    return new HubError('server', `${this.endpoint} answered ${status} for ${s.repo}${rev}${s.file ? ` ${s.file}` : ''} after ${tries} ${tries === 1 ? 'try' : 'tries'}.`, { status });
  }
}
