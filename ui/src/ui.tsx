import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiError } from "./api.js";
import { href, onLink } from "./router.js";

export function Link(props: { to: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={href(props.to)} onClick={onLink} class={props.class}>
      {props.children}
    </a>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status}</span>;
}

export const shortId = (id: string) => id.slice(-12);

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
export const formatTime = (iso: string | null) =>
  iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : "–";
export const percent = (r: number | null) => (r === null ? "–" : `${(r * 100).toFixed(1)}%`);

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as { code?: string; message?: string };
  return (
    <p class="error" role="alert">
      {e.code ? <code>{e.code}</code> : null} {e.message ?? JSON.stringify(error)}
    </p>
  );
}

/** Loads `load()` now, when `deps` change, and every `everyMs` while `live`. */
export function useData<T>(
  load: () => Promise<T>,
  deps: unknown[],
  options: { everyMs?: number; live?: boolean } = {},
) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [tick, setTick] = useState(0);
  const current = useRef(0);
  const key = JSON.stringify(deps);
  const shown = useRef(key);
  useEffect(() => {
    const n = ++current.current;
    // New parameters (not a refresh): drop what was shown for the old ones.
    if (shown.current !== key) {
      shown.current = key;
      setData(null);
    }
    load().then(
      (d) => n === current.current && (setData(d), setError(null)),
      (e: unknown) => n === current.current && setError(e as Error),
    );
  }, [...deps, tick]);
  useEffect(() => {
    if (!options.everyMs || options.live === false) return;
    const t = setInterval(() => setTick((x) => x + 1), options.everyMs);
    return () => clearInterval(t);
  }, [options.everyMs, options.live]);
  return { data, error, reload: () => setTick((x) => x + 1) };
}

/** A modal confirmation that says what will happen. */
export function Confirm(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const confirm = async () => {
    setBusy(true);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <dialog ref={dialog} aria-labelledby="confirm-title" onClose={props.onClose}>
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      <ErrorLine error={error} />
      <div class="buttons">
        <button type="button" onClick={props.onClose}>
          Keep it
        </button>
        <button
          type="button"
          class={props.danger ? "danger" : "primary"}
          disabled={busy}
          onClick={() => void confirm()}
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
