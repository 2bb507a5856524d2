/**
 * The closed set of error codes a tool call can fail with (DESIGN.md section 4).
 * A failed *program* is not an error: it is a normal result with status "error".
 * An error means the call itself could not be done; the message says what to do next.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'UNKNOWN_TOOL',
  'ENV_NOT_FOUND',
  'SESSION_NOT_FOUND',
  'PROCESS_NOT_FOUND',
  'JOB_NOT_FOUND',
  'CONTENT_NOT_FOUND',
  'PATH_OUTSIDE_WORKSPACE',
  'FILE_NOT_FOUND',
  'POLICY_DENIED',
  'LANGUAGE_UNAVAILABLE',
  'PYTHON_VERSION_UNAVAILABLE',
  'INSTALL_FAILED',
  'KERNEL_DIED',
  'UPSTREAM_UNAVAILABLE',
  'LIMIT_EXCEEDED',
  'CANCELLED',
  'TIMEOUT',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class HangarError extends Error {
  override readonly name = 'HangarError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The text an agent sees: `CODE: message`. */
  render(): string {
    return `${this.code}: ${this.message}`;
  }
}

export function isHangarError(error: unknown): error is HangarError {
  return error instanceof HangarError;
}

/** A message safe to show an agent for any thrown value; never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Raised when an AbortSignal fires; callers map it to status "cancelled". */
export function abortError(signal: AbortSignal): HangarError {
  const reason: unknown = signal.reason;
  return new HangarError('CANCELLED', reason instanceof Error ? reason.message : 'the call was cancelled');
}
