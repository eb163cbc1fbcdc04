import { useEffect, useState } from "preact/hooks";
import { api, may, type Saga, type SagaType, type Session } from "../api.js";
import { navigate } from "../router.js";
import { ErrorLine, useData } from "../ui.js";

const EXAMPLES: Record<string, unknown> = {
  demo_order: { order_id: "o-1", step_ms: 1500 },
};

/** Start any saga type; admins may inject a fault at a chosen step to rehearse a failure. */
export function StartPage({ session, search }: { session: Session; search: URLSearchParams }) {
  const types = useData(() => api<{ types: SagaType[] }>("GET", "/sagas/types/available"), []);
  const [type, setType] = useState(search.get("type") ?? "");
  const [version, setVersion] = useState("");
  const [input, setInput] = useState("");
  const [key, setKey] = useState("");
  const [rehearse, setRehearse] = useState(search.get("rehearse") === "1");
  const [faultStep, setFaultStep] = useState("");
  const [phase, setPhase] = useState<"forward" | "compensation">("forward");
  const [attempt, setAttempt] = useState("1");
  const [retryable, setRetryable] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const admin = may(session, "admin");

  const list = types.data?.types ?? [];
  const chosen = list.find((t) => t.saga_type === type) ?? list[0];
  const versionInfo =
    chosen?.versions.find((v) => String(v.version) === version) ?? chosen?.versions[0];
  const steps = versionInfo?.steps ?? [];
  const faultSteps = steps.filter((s) => phase === "forward" || s.compensable);
  useEffect(() => {
    if (chosen && !type) setType(chosen.saga_type);
  }, [chosen?.saga_type]);
  useEffect(() => {
    if (chosen) setInput(JSON.stringify(EXAMPLES[chosen.saga_type] ?? {}, null, 2));
  }, [chosen?.saga_type]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let parsed: unknown;
    try {
      parsed = input.trim() ? JSON.parse(input) : null;
    } catch (err) {
      setError(new Error(`input is not JSON: ${(err as Error).message}`));
      return;
    }
    try {
      const saga = await api<Saga>("POST", "/sagas/start", {
        saga_type: chosen?.saga_type ?? type,
        input: parsed,
        ...(version ? { version: Number(version) } : {}),
        ...(key.trim() ? { idempotency_key: key.trim() } : {}),
        ...(admin && rehearse
          ? {
              fault: {
                step: faultStep || faultSteps[0]?.name,
                phase,
                attempt: Number(attempt) || 1,
                retryable,
              },
            }
          : {}),
      });
      navigate(`/sagas/${saga.saga_id}`);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section class="narrow">
      <h1>Start a saga</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="type">Saga type</label>
        <select
          id="type"
          value={chosen?.saga_type ?? ""}
          onChange={(e) => (setType(e.currentTarget.value), setVersion(""), setFaultStep(""))}
        >
          {list.map((t) => (
            <option key={t.saga_type} value={t.saga_type}>
              {t.saga_type}
            </option>
          ))}
        </select>
        <label for="version">Version</label>
        <select id="version" value={version} onChange={(e) => setVersion(e.currentTarget.value)}>
          <option value="">latest</option>
          {chosen?.versions.map((v) => (
            <option key={v.version} value={String(v.version)}>
              v{v.version}
            </option>
          ))}
        </select>
        <label for="input">Input (JSON)</label>
        <textarea
          id="input"
          rows={8}
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
        />
        <label for="key">Idempotency key (optional)</label>
        <input id="key" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        {admin ? (
          <fieldset class="rehearse" data-testid="rehearse">
            <legend>Rehearse a failure</legend>
            <label>
              <input
                type="checkbox"
                checked={rehearse}
                onChange={(e) => setRehearse(e.currentTarget.checked)}
              />{" "}
              Inject a fault (recorded in the saga's history; admins only)
            </label>
            {rehearse ? (
              <div class="grid">
                <label>
                  Fail
                  <select
                    value={phase}
                    onChange={(e) => setPhase(e.currentTarget.value as "forward" | "compensation")}
                  >
                    <option value="forward">the step's action</option>
                    <option value="compensation">the step's compensation</option>
                  </select>
                </label>
                <label>
                  Step
                  <select
                    value={faultStep}
                    onChange={(e) => setFaultStep(e.currentTarget.value)}
                    name="fault-step"
                  >
                    {faultSteps.map((s) => (
                      <option key={s.name} value={s.name}>
                        {s.name}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  At attempt
                  <input
                    type="number"
                    min={1}
                    max={1000}
                    value={attempt}
                    onInput={(e) => setAttempt(e.currentTarget.value)}
                  />
                </label>
                <label>
                  <input
                    type="checkbox"
                    checked={retryable}
                    onChange={(e) => setRetryable(e.currentTarget.checked)}
                  />{" "}
                  Retryable (the step's retry policy applies)
                </label>
              </div>
            ) : null}
          </fieldset>
        ) : null}
        <ErrorLine error={error} />
        <button type="submit" class="primary">
          {rehearse && admin ? "Start the rehearsal" : "Start"}
        </button>
      </form>
    </section>
  );
}
