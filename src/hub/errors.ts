// The Hub client's errors: one class whose `kind` tells the failures apart and whose message is one sentence a person can act on.

/** What went wrong, as huggingface_hub tells its errors apart (GatedRepoError, RepositoryNotFoundError, ...). */
export type HubErrorKind =
  | 'bad-id' // not an owner/name id
  | 'gated' // X-Error-Code: GatedRepo: the licence must be accepted on the repo page
  | 'repo-not-found' // X-Error-Code: RepoNotFound (or a 401 on a repo URL: the Hub hides private repos)
  | 'revision-not-found' // X-Error-Code: RevisionNotFound
  | 'entry-not-found' // X-Error-Code: EntryNotFound, or a file the model needs is not in the repo
  | 'bad-token' // 401 "Invalid credentials in Authorization header"
  | 'forbidden' // any other 403
  | 'rate-limited' // 429 after every retry
  | 'server' // 5xx after every retry, or another unexpected status
  | 'network' // the endpoint could not be reached
  | 'offline' // HF_HUB_OFFLINE=1 (or no network) and the cache lacks what was asked
  | 'integrity'; // a file's bytes do not match the sha256/git hash the Hub listed

export class HubError extends Error {
  readonly kind: HubErrorKind;
  /** The repository's page, where a gated model's licence is accepted; set for 'gated'. */
  readonly repoUrl: string | null;
  readonly status: number | null;

  constructor(kind: HubErrorKind, message: string, options: { repoUrl?: string; status?: number; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'HubError';
    this.kind = kind;
    this.repoUrl = options.repoUrl ?? null;
    this.status = options.status ?? null;
  }
}
