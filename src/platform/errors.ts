/** One problem of a request: where (JSON pointer into the body, or `/query/…`, `/params/…`) and which rule. */
export interface ProblemDetail {
  readonly path: string;
  readonly message: string;
}

/** The body of every error answer (CONVENTIONS.md "Errors users see"). */
export interface ErrorBody {
  /** Stable machine-readable code, e.g. `invalid_event`. */
  readonly error: string;
  /** One human sentence. */
  readonly message: string;
  readonly detail?: readonly ProblemDetail[];
}

/**
 * An error meant for the client: the HTTP server answers `status` with `{error, message, detail}`.
 * Throw it from a route or hook; anything else becomes a logged 500.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: readonly ProblemDetail[],
    /** Extra response headers, e.g. `WWW-Authenticate`. */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    return this.detail && this.detail.length > 0
      ? { error: this.code, message: this.message, detail: this.detail }
      : { error: this.code, message: this.message };
  }
}

export const badRequest = (code: string, message: string, detail?: readonly ProblemDetail[]) => new ApiError(400, code, message, detail);
/** 401 with the `WWW-Authenticate: Bearer` challenge (RFC 6750) every 401 of Flamingo carries; `code` defaults to `unauthorized`. */
export const unauthorized = (message = 'missing or invalid API key: send Authorization: Bearer <key>', code = 'unauthorized') =>
  new ApiError(401, code, message, undefined, { 'www-authenticate': 'Bearer realm="flamingo"' });
export const forbidden = (message: string, detail?: readonly ProblemDetail[]) => new ApiError(403, 'forbidden', message, detail);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const unprocessable = (code: string, message: string, detail?: readonly ProblemDetail[]) => new ApiError(422, code, message, detail);
export const tooLarge = (code: string, message: string, detail?: readonly ProblemDetail[]) => new ApiError(413, code, message, detail);
export const unsupportedMediaType = (message: string) => new ApiError(415, 'unsupported_media_type', message);
