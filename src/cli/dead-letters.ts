import { CliError, request, type ClientOptions } from "./client.js";

interface LetterView {
  id: string;
  group: string;
  deliveries: number;
  error: string;
  dead_at: string;
  message: { id: string; type: string; key: string | null; data: unknown } | null;
  raw?: Record<string, string>;
}

const line = (l: LetterView) =>
  `${l.id}  ${l.dead_at}  ${l.message ? `${l.message.type} ${l.message.id}` : "(undecodable)"}  ` +
  `group=${l.group} deliveries=${l.deliveries}  ${l.error}`;

/** `saga dead-letters list|show|redrive|purge`: the bus's dead letters of your tenant (admin). */
export async function deadLetterCommand(
  client: ClientOptions,
  args: string[],
  options: { limit?: string; after?: string; all?: boolean },
  print: (json: unknown, human: () => string) => void,
): Promise<number> {
  const [sub, ...ids] = args;
  switch (sub) {
    case "list": {
      if (ids.length > 0) throw new CliError("dead-letters list takes no ids", 2);
      const query = new URLSearchParams();
      if (options.limit) query.set("limit", options.limit);
      if (options.after) query.set("after", options.after);
      const page = await request<{ items: LetterView[]; next_after: string | null }>(
        client,
        "GET",
        `dead-letters?${query.toString()}`,
      );
      print(page, () =>
        [
          ...page.items.map(line),
          page.items.length === 0 ? "no dead letters" : "",
          page.next_after ? `more: saga dead-letters list --after ${page.next_after}` : "",
        ]
          .filter(Boolean)
          .join("\n"),
      );
      return 0;
    }
    case "show": {
      if (ids.length !== 1) throw new CliError("dead-letters show needs exactly one id", 2);
      const letter = await request<LetterView>(
        client,
        "GET",
        `dead-letters/${encodeURIComponent(ids[0]!)}`,
      );
      print(letter, () =>
        [line(letter), JSON.stringify(letter.message ?? letter.raw ?? null, null, 2)].join("\n"),
      );
      return 0;
    }
    case "redrive": {
      if (ids.length === 0) throw new CliError("dead-letters redrive needs one or more ids", 2);
      const result = await request<{ redriven: string[]; skipped: string[] }>(
        client,
        "POST",
        "dead-letters/redrive",
        { ids },
      );
      print(result, () =>
        [
          `re-driven: ${result.redriven.length ? result.redriven.join(" ") : "none"}`,
          result.skipped.length
            ? `skipped (not found, or undecodable): ${result.skipped.join(" ")}`
            : "",
        ]
          .filter(Boolean)
          .join("\n"),
      );
      return result.skipped.length > 0 && result.redriven.length === 0 ? 1 : 0;
    }
    case "purge": {
      if ((ids.length === 0) === !options.all)
        throw new CliError("dead-letters purge needs ids or --all (not both)", 2);
      const result = await request<{ purged: number }>(
        client,
        "POST",
        "dead-letters/purge",
        options.all ? { all: true } : { ids },
      );
      print(result, () => `purged ${result.purged}`);
      return 0;
    }
    default:
      throw new CliError(
        "use: saga dead-letters list|show <id>|redrive <id>…|purge <id>…|--all",
        2,
      );
  }
}
