import { useState } from "preact/hooks";
import { api, saveCredentials, type Credentials, type Session } from "../api.js";
import { ErrorLine } from "../ui.js";

export function SignInPage(props: { session: Session | null; onSignedIn: (s: Session) => void }) {
  const [kind, setKind] = useState<Credentials["kind"]>("api-key");
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const credentials = { kind, value: value.trim() };
    try {
      const session = await api<Session>("GET", "/console/session", undefined, credentials);
      saveCredentials(credentials);
      props.onSignedIn(session);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="narrow">
      <h1>Sign in</h1>
      {props.session ? (
        <p>
          You are signed in to tenant <strong>{props.session.tenant_id}</strong> as{" "}
          {props.session.role} ({props.session.via}).
        </p>
      ) : (
        <p>This server asks for credentials: an API key or a JWT.</p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>Credential</legend>
          <label>
            <input
              type="radio"
              name="kind"
              checked={kind === "api-key"}
              onChange={() => setKind("api-key")}
            />{" "}
            API key (X-API-Key)
          </label>
          <label>
            <input
              type="radio"
              name="kind"
              checked={kind === "jwt"}
              onChange={() => setKind("jwt")}
            />{" "}
            JWT (Authorization: Bearer)
          </label>
        </fieldset>
        <label for="credential">{kind === "api-key" ? "API key" : "Token"}</label>
        <input
          id="credential"
          type="password"
          autoComplete="off"
          required
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <p class="hint">
          Kept in this browser tab only (session storage); closing the tab forgets it.
        </p>
        <ErrorLine error={error} />
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
    </section>
  );
}
