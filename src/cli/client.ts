import { ErrorCodes, SagaError, errorMessage } from "../core/errors.js";

/**
 * An error the `saga` command reports on one line and exits with: status 2 (SAGA_CLI_USAGE) for
 * a command line it does not understand, 1 (SAGA_CLI_REQUEST_FAILED) when the service is out of
 * reach or answers an error. The service's own code leads the message.
 */
export class CliError extends SagaError {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(exitCode === 2 ? ErrorCodes.SAGA_CLI_USAGE : ErrorCodes.SAGA_CLI_REQUEST_FAILED, message);
  }
}

/** A thin HTTP client of the service for the CLI. Errors carry the server's code and message. */

export interface ClientOptions {
  url: string;
  apiKey: string | undefined;
}

export async function request<T>(
  options: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const url = new URL(path, options.url.endsWith("/") ? options.url : `${options.url}/`);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(options.apiKey ? { "x-api-key": options.apiKey } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? errorMessage(error);
    throw new CliError(
      `cannot reach the service at ${options.url} (${cause}); is 'saga serve' running? (--url to change)`,
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    throw new CliError(`the service answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    const hint = response.status === 401 ? " (pass --api-key or set API_KEY)" : "";
    throw new CliError(
      `${error?.code ?? `HTTP_${response.status}`}: ${error?.message ?? response.statusText}${hint}`,
    );
  }
  return parsed as T;
}
