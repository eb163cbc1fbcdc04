import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import {
  api,
  ApiError,
  may,
  saveCredentials,
  setUnauthorizedHandler,
  type Session,
} from "./api.js";
import { DefinitionsPage } from "./pages/definitions.js";
import { EventsPage } from "./pages/events.js";
import { OverviewPage } from "./pages/overview.js";
import { SagaPage } from "./pages/saga.js";
import { SagasPage } from "./pages/sagas.js";
import { SignInPage } from "./pages/signin.js";
import { StartPage } from "./pages/start.js";
import { navigate, useLocation } from "./router.js";
import { Link } from "./ui.js";
import "./styles.css";

const NAV = [
  { to: "/sagas", label: "Sagas" },
  { to: "/start", label: "Start", role: "operator" as const },
  { to: "/definitions", label: "Definitions" },
  { to: "/events", label: "Events" },
  { to: "/overview", label: "Overview" },
];

function App() {
  const { path, search } = useLocation();
  const [session, setSession] = useState<Session | null>(null);
  const [checked, setChecked] = useState(false);
  const refresh = () =>
    api<Session>("GET", "/console/session").then(
      (s) => (setSession(s), setChecked(true)),
      (e: unknown) => {
        setSession(null);
        setChecked(true);
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) navigate("/signin");
      },
    );
  useEffect(() => {
    setUnauthorizedHandler(() => {
      setSession(null);
      navigate("/signin");
    });
    void refresh();
  }, []);
  useEffect(() => {
    if (path === "/") navigate("/sagas", true);
  }, [path]);

  const signOut = () => {
    saveCredentials(null);
    setSession(null);
    void refresh();
  };
  let page;
  const sagaMatch = /^\/sagas\/([^/]+)$/.exec(path);
  if (path === "/signin")
    page = <SignInPage session={session} onSignedIn={(s) => (setSession(s), navigate("/sagas"))} />;
  else if (!checked) page = <p>Loading…</p>;
  else if (!session) page = <SignInPage session={null} onSignedIn={setSession} />;
  else if (sagaMatch) page = <SagaPage id={decodeURIComponent(sagaMatch[1]!)} session={session} />;
  else if (path === "/start") page = <StartPage session={session} search={search} />;
  else if (path === "/definitions") page = <DefinitionsPage session={session} search={search} />;
  else if (path === "/events") page = <EventsPage session={session} search={search} />;
  else if (path === "/overview") page = <OverviewPage />;
  else page = <SagasPage session={session} search={search} />;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link to="/sagas" class="brand">
          saga<span>·</span>console
        </Link>
        <nav aria-label="Main">
          {NAV.filter((n) => !n.role || may(session, n.role)).map((n) => (
            <Link key={n.to} to={n.to} class={path.startsWith(n.to) ? "active" : ""}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div class="who" aria-label="Signed in as">
          {session ? (
            <>
              <span class="tenant" title="tenant">
                tenant <strong data-testid="tenant">{session.tenant_id}</strong>
              </span>
              <span class="role" data-testid="role">
                {session.role}
              </span>
              {session.via === "anonymous" ? (
                <Link to="/signin">Sign in</Link>
              ) : (
                <button type="button" class="link" onClick={signOut}>
                  Sign out
                </button>
              )}
            </>
          ) : (
            <Link to="/signin">Sign in</Link>
          )}
        </div>
      </header>
      <main id="main">{page}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
