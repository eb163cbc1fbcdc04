/** Longest X-Correlation-ID accepted. */
export const CORRELATION_ID_MAX = 128;

/**
 * A correlation id the API accepts (header or event metadata): 1 to 128 characters of
 * `A-Z a-z 0-9 . _ : -`. Nothing a log line, a header or a bus message could mis-read (no CR/LF,
 * no spaces, no quotes). A bad one is refused with 400 INVALID_CORRELATION_ID.
 */
export function isCorrelationId(value: string): boolean {
  return value.length <= CORRELATION_ID_MAX && /^[A-Za-z0-9._:-]+$/.test(value);
}
