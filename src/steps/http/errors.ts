/**
 * Codes of the errors an `http` step records. Retryability is data: the step throws a
 * `TerminalError` (give up) or a retryable `SagaError`; the table says which.
 */
export const HttpErrorCodes = {
  /** The service answered 5xx. Retryable; `details.retryAfterMs` when it sent `Retry-After`. */
  HTTP_5XX: "SAGA_HTTP_5XX",
  /** The service answered 429 Too Many Requests. Retryable; `details.retryAfterMs` as above. */
  HTTP_429: "SAGA_HTTP_429",
  /** The service answered another 4xx. Terminal, unless the status is in `retryable_statuses`. */
  HTTP_4XX: "SAGA_HTTP_4XX",
  /** A status that is neither a success nor an error class above (e.g. a 3xx not followed). Terminal. */
  HTTP_UNEXPECTED_STATUS: "SAGA_HTTP_UNEXPECTED_STATUS",
  /** Connection refused or reset, DNS failure, TLS failure… Retryable. */
  HTTP_NETWORK: "SAGA_HTTP_NETWORK",
  /** The attempt's own time limit (`timeout_ms`) passed; the request was aborted. Retryable. */
  HTTP_TIMEOUT: "SAGA_HTTP_TIMEOUT",
  /** The step's signal was aborted (engine timeout, cancel, sibling failure). Retryable. */
  HTTP_ABORTED: "SAGA_HTTP_ABORTED",
  /** The destination (host, resolved address, redirect target) is not allowed. Terminal; nothing was connected. */
  HTTP_FORBIDDEN_DESTINATION: "SAGA_HTTP_FORBIDDEN_DESTINATION",
  /** More redirects than allowed, or a redirect that would carry a secret body to another origin. Terminal. */
  HTTP_REDIRECT_REFUSED: "SAGA_HTTP_REDIRECT_REFUSED",
  /** The response body is larger than the limit. Terminal. */
  HTTP_RESPONSE_TOO_LARGE: "SAGA_HTTP_RESPONSE_TOO_LARGE",
  /** The response says JSON but does not parse. Terminal. */
  HTTP_INVALID_RESPONSE: "SAGA_HTTP_INVALID_RESPONSE",
  /** The request cannot be built: bad header, unknown service, missing secret, bad URL. Terminal. */
  HTTP_INVALID_REQUEST: "SAGA_HTTP_INVALID_REQUEST",
  /** A path placeholder's value would make a `.`/`..` segment or leave the templated prefix. Terminal. */
  HTTP_PATH_TRAVERSAL: "SAGA_HTTP_PATH_TRAVERSAL",
} as const;
export type HttpErrorCode = (typeof HttpErrorCodes)[keyof typeof HttpErrorCodes];
