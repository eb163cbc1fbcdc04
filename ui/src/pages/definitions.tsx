import { useState } from "preact/hooks";
import {
  api,
  ApiError,
  may,
  type DefinitionView,
  type Problem,
  type SagaType,
  type Session,
} from "../api.js";
import { Diagram, nodesOfDocument, nodesOfType } from "../diagram.js";
import { navigate } from "../router.js";
import { ErrorLine, Json, Link, useData } from "../ui.js";

export function DefinitionsPage({
  session,
  search,
}: {
  session: Session;
  search: URLSearchParams;
}) {
  const types = useData(() => api<{ types: SagaType[] }>("GET", "/sagas/types/available"), []);
  const docs = useData(
    () =>
      api<{ definitions: DefinitionView[] }>("GET", "/definitions").catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return { definitions: [] };
        throw e;
      }),
    [],
  );
  const selected = search.get("name") ?? types.data?.types[0]?.saga_type ?? "";
  const type = types.data?.types.find((t) => t.saga_type === selected);
  const versionParam = search.get("version");
  const version =
    type?.versions.find((v) => String(v.version) === versionParam) ?? type?.versions[0];
  const doc = docs.data?.definitions.find(
    (d) => d.name === selected && d.version === version?.version,
  );
  const nodes = doc ? nodesOfDocument(doc.document) : version ? nodesOfType(version) : [];
  const open = (name: string, v?: number) =>
    navigate(`/definitions?name=${encodeURIComponent(name)}${v ? `&version=${v}` : ""}`, true);

  return (
    <section>
      <h1>Definitions</h1>
      <ErrorLine error={types.error} />
      <div class="split">
        <nav aria-label="Saga types" class="catalog">
          <ul>
            {types.data?.types.map((t) => {
              const scope =
                docs.data?.definitions.find((d) => d.name === t.saga_type)?.scope ?? "code";
              return (
                <li key={t.saga_type}>
                  <button
                    type="button"
                    class={`link ${t.saga_type === selected ? "on" : ""}`}
                    aria-current={t.saga_type === selected}
                    onClick={() => open(t.saga_type)}
                  >
                    {t.saga_type}
                  </button>
                  <span class="muted">
                    {" "}
                    {t.versions.map((v) => `v${v.version}`).join(", ")} · {scope}
                  </span>
                </li>
              );
            })}
          </ul>
        </nav>
        <div class="detail">
          {type && version ? (
            <>
              <h2>
                {type.saga_type}{" "}
                <select
                  aria-label="Version"
                  value={String(version.version)}
                  onChange={(e) => open(type.saga_type, Number(e.currentTarget.value))}
                >
                  {type.versions.map((v) => (
                    <option key={v.version} value={String(v.version)}>
                      v{v.version}
                      {v.latest ? " (latest)" : ""}
                    </option>
                  ))}
                </select>
              </h2>
              <p class="muted">
                {version.steps.length} step(s)
                {version.timeout_ms ? ` · deadline ${version.timeout_ms / 1000} s` : ""}
                {doc ? ` · ${doc.scope}` : " · defined in code"} ·{" "}
                <Link to={`/sagas?type=${encodeURIComponent(type.saga_type)}`}>its sagas</Link>
                {may(session, "operator") ? (
                  <>
                    {" · "}
                    <Link to={`/start?type=${encodeURIComponent(type.saga_type)}`}>start one</Link>
                  </>
                ) : null}
              </p>
              <Diagram nodes={nodes} title={`${type.saga_type} v${version.version}`} />
              {doc ? (
                <details>
                  <summary>Document</summary>
                  <Json value={doc.document} label="Definition document" />
                </details>
              ) : null}
            </>
          ) : (
            <p>Loading…</p>
          )}
        </div>
      </div>
      <Register
        session={session}
        onRegistered={(name, v) => (types.reload(), docs.reload(), open(name, v))}
      />
    </section>
  );
}

function Register(props: {
  session: Session;
  onRegistered: (name: string, version: number) => void;
}) {
  const [text, setText] = useState("");
  const [problems, setProblems] = useState<Problem[] | null>(null);
  const [document, setDocument] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const admin = may(props.session, "admin");

  const validate = async (value = text) => {
    setDone(null);
    setError(null);
    try {
      const r = await api<{ document: unknown; problems: Problem[] }>(
        "POST",
        "/console/definitions/validate",
        { text: value },
      );
      setProblems(r.problems);
      setDocument(r.document);
      return r.problems.length === 0 ? r.document : null;
    } catch (e) {
      setError(e);
      return null;
    }
  };
  const register = async () => {
    const doc = await validate();
    if (!doc) return;
    try {
      const r = await api<{ name: string; version: number }>("POST", "/definitions", doc);
      setDone(`${r.name} v${r.version} registered`);
      props.onRegistered(r.name, r.version);
    } catch (e) {
      setError(e);
    }
  };
  const upload = async (file: File | undefined) => {
    if (!file) return;
    const value = await file.text();
    setText(value);
    await validate(value);
  };
  const lines = text.split("\n");
  const lineOf = (path: string) => {
    // Points a problem's path at the first line that names its last key (a hint, not a parser).
    const last = /([A-Za-z_][\w.-]*)(?:\[\d+\])?$/.exec(path.replace(/^\$\.?/, ""))?.[1];
    if (!last) return null;
    const i = lines.findIndex((l) => new RegExp(`(^|[\\s"'{,-])${last}["']?\\s*:`).test(l));
    return i < 0 ? null : i + 1;
  };

  return (
    <section class="register" aria-labelledby="register-title">
      <h2 id="register-title">
        {admin ? "Validate and register a definition" : "Validate a definition"}
      </h2>
      <p class="muted">
        Paste or upload JSON or YAML (see{" "}
        <a href="/schemas/saga-definition.json">the JSON Schema</a>). Problems are listed with their
        path before anything is registered.
      </p>
      <label for="definition-text">Definition (JSON or YAML)</label>
      <textarea
        id="definition-text"
        rows={12}
        spellcheck={false}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <div class="buttons left">
        <label class="file">
          Upload a file
          <input
            type="file"
            accept=".json,.yaml,.yml"
            onChange={(e) => void upload(e.currentTarget.files?.[0])}
          />
        </label>
        <button type="button" onClick={() => void validate()}>
          Validate
        </button>
        {admin ? (
          <button type="button" class="primary" onClick={() => void register()}>
            Register
          </button>
        ) : null}
      </div>
      <ErrorLine error={error} />
      {done ? (
        <p class="ok" role="status">
          {done}
        </p>
      ) : null}
      {problems && problems.length > 0 ? (
        <ul class="problems" aria-label="Problems" data-testid="problems">
          {problems.map((p, i) => {
            const line = lineOf(p.path);
            return (
              <li key={i}>
                <code>{p.path}</code>
                {line ? <span class="muted"> (line {line})</span> : null}: {p.message}
              </li>
            );
          })}
        </ul>
      ) : null}
      {problems && problems.length === 0 ? (
        <>
          <p class="ok" role="status" data-testid="valid">
            Valid.
          </p>
          <Diagram nodes={nodesOfDocument(document)} title="Preview" />
        </>
      ) : null}
    </section>
  );
}
