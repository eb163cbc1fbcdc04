import { CliError, request, type ClientOptions } from "./client.js";

interface AuditView {
  id: string;
  at: string;
  actor: string;
  role: string;
  address: string | null;
  action: string;
  saga_id: string | null;
  target: string | null;
  status: number;
}

/** `saga audit [--actor A] [--action X] [--saga ID] [--since ISO] [--until ISO] [--limit N]`. */
export async function auditCommand(
  client: ClientOptions,
  args: string[],
  options: Partial<
    Record<"actor" | "action" | "saga" | "since" | "until" | "limit" | "cursor", string>
  >,
  print: (json: unknown, human: () => string) => void,
): Promise<number> {
  if (args.length > 0) throw new CliError("audit takes no positional arguments", 2);
  const query = new URLSearchParams();
  const set = (name: string, value: string | undefined) => value && query.set(name, value);
  set("actor", options.actor);
  set("action", options.action);
  set("saga_id", options.saga);
  set("from", options.since);
  set("to", options.until);
  set("limit", options.limit);
  set("before", options.cursor);
  const page = await request<{ items: AuditView[]; next_before: string | null }>(
    client,
    "GET",
    `audit?${query.toString()}`,
  );
  print(page, () =>
    [
      ...page.items.map(
        (e) =>
          `${e.at}  ${e.action.padEnd(20)} ${String(e.status)}  ${e.actor} (${e.role}) from ${e.address ?? "?"}` +
          `${e.saga_id ? `  saga ${e.saga_id}` : ""}${e.target ? `  ${e.target}` : ""}`,
      ),
      page.items.length === 0 ? "no audit entries" : "",
      page.next_before ? `more: saga audit --cursor ${page.next_before}` : "",
    ]
      .filter(Boolean)
      .join("\n"),
  );
  return 0;
}
