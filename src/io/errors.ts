// Error types for user-supplied files: every parser reports problems through these so messages always name the file.

/** A file was found but its contents are wrong; the message reads `file[:line]: problem[ (detail)]`. */
export class FormatError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly detail: string | undefined;
  /** The problem without the file prefix, for UIs that show the file separately. */
  readonly problem: string;

  constructor(file: string, problem: string, options: { line?: number; detail?: string; cause?: unknown } = {}) {
    const where = options.line !== undefined ? `${file}:${options.line}` : file;
    const detail = options.detail ? ` (${options.detail})` : '';
    super(`${where}: ${problem}${detail}`, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'FormatError';
    this.file = file;
    this.line = options.line;
    this.detail = options.detail;
    this.problem = problem;
  }
}

/** A file the caller asked for does not exist in a source (a directory, a set of picked files, a URL prefix). */
export class MissingFileError extends Error {
  readonly file: string;
  readonly source: string;

  constructor(file: string, source: string, hint?: string) {
    super(`${file}: not found in ${source}${hint ? ` (${hint})` : ''}`);
    this.name = 'MissingFileError';
    this.file = file;
    this.source = source;
  }
}
