/** Typed errors. Every API error is an {@link APIError} with the server's stable `code` and HTTP `status`. */

export class EchoDepthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The server could not be reached (after retries), or the connection broke mid-request. */
export class APIConnectionError extends EchoDepthError {}

/** The request timed out (after retries). */
export class APITimeoutError extends APIConnectionError {}

/** The API answered with an error (RFC 9457 problem+json). */
export class APIError extends EchoDepthError {
  /** The stable error code, e.g. `invalid_input`, `idempotency_key_reused`. */
  readonly code: string;
  /** The HTTP status. */
  readonly status: number;
  /** The problem document (or null when the body was not JSON). */
  readonly body: Record<string, unknown> | null;
  /** The response headers (lower-case names). */
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    status: number,
    message = '',
    body: Record<string, unknown> | null = null,
    headers: Record<string, string> = {},
  ) {
    super(message ? `${status} ${code}: ${message}` : `${status} ${code}`);
    this.code = code;
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** 401: the API key is missing, wrong or revoked. */
export class AuthenticationError extends APIError {}

/** 404: no such job, endpoint or delivery (or another tenant's). */
export class NotFoundError extends APIError {}

/** 400/409/413/415/422: the request was refused as it stands. */
export class InvalidInputError extends APIError {}

/** 429: too many requests; `retryAfter` is the server's Retry-After in seconds (null if absent). */
export class RateLimitError extends APIError {
  readonly retryAfter: number | null;

  constructor(
    code: string,
    status: number,
    message: string,
    body: Record<string, unknown> | null,
    headers: Record<string, string>,
    retryAfter: number | null,
  ) {
    super(code, status, message, body, headers);
    this.retryAfter = retryAfter;
  }
}

/** A waited-for job ended `failed`; `code`/`detail` are the job's error, `result` the whole job. */
export class JobFailedError extends EchoDepthError {
  readonly code: string;
  readonly detail: string;
  readonly result: unknown;

  constructor(code: string, detail: string, result: { jobId?: string }) {
    super(`job ${result.jobId ?? '?'} failed: ${code}: ${detail}`);
    this.code = code;
    this.detail = detail;
    this.result = result;
  }
}

/** The job did not finish within the wait timeout; it keeps running on the server. */
export class WaitTimeoutError extends EchoDepthError {
  readonly jobId: string;
  readonly timeout: number;

  constructor(jobId: string, timeout: number) {
    super(`job ${jobId} did not finish within ${timeout} ms; it is still running`);
    this.jobId = jobId;
    this.timeout = timeout;
  }
}

/** A webhook's signature, timestamp or headers did not verify. */
export class WebhookVerificationError extends EchoDepthError {}

/** A stream ended abnormally: the server's error code (or the WebSocket close code). */
export class StreamError extends EchoDepthError {
  readonly code: string;
  readonly closeCode: number | null;

  constructor(code: string, message = '', closeCode: number | null = null) {
    super(message ? `stream error ${code}: ${message}` : `stream error ${code}`);
    this.code = code;
    this.closeCode = closeCode;
  }
}
