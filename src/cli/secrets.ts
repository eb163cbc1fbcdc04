import { readFile } from "node:fs/promises";
import { CliError, request, type ClientOptions } from "./client.js";

const USE =
  "use: saga secrets set <name> [--from-file F] (value read from stdin otherwise) | saga secrets delete <name> | saga secrets list";

/** Reads all of stdin (a secret is never taken from the command line, where `ps` shows it). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** `saga secrets set|delete|list`: the tenant's secrets (admin key). Values are never printed. */
export async function secretsCommand(
  client: ClientOptions,
  args: string[],
  fromFile: string | undefined,
  print: (json: unknown, human: () => string) => void,
): Promise<number> {
  const [sub, name, ...extra] = args;
  if (extra.length > 0) throw new CliError(USE, 2);
  if (sub === "list" && name === undefined) {
    const body = await request<{ secrets: { name: string; updated_at: string }[] }>(
      client,
      "GET",
      "secrets",
    );
    print(
      body,
      () =>
        body.secrets.map((s) => `${s.name} (updated ${s.updated_at})`).join("\n") || "no secrets",
    );
    return 0;
  }
  if ((sub !== "set" && sub !== "delete") || name === undefined) throw new CliError(USE, 2);
  const path = `secrets/${encodeURIComponent(name)}`;
  if (sub === "delete") {
    await request(client, "DELETE", path);
    print({ name, deleted: true }, () => `secret ${name} deleted`);
    return 0;
  }
  let value: string;
  if (fromFile !== undefined) {
    value = await readFile(fromFile, "utf8").catch(() => {
      throw new CliError(`${fromFile}: cannot be read`, 2);
    });
  } else {
    if (process.stdin.isTTY) process.stderr.write(`value of ${name} (end with Ctrl-D): `);
    value = await readStdin();
  }
  value = value.replace(/\r?\n$/, "");
  await request(client, "PUT", path, { value });
  print({ name, set: true }, () => `secret ${name} set`);
  return 0;
}
