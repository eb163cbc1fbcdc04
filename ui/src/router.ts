import { useEffect, useState } from "preact/hooks";

const BASE = "/ui";

/** The console's path (after /ui) and query; links and back/forward change it without a reload. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const read = () => ({
    path: location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || "/" : "/",
    search: new URLSearchParams(location.search),
  });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    addEventListener("popstate", update);
    addEventListener("console:navigate", update);
    return () => {
      removeEventListener("popstate", update);
      removeEventListener("console:navigate", update);
    };
  }, []);
  return loc;
}

export function navigate(to: string, replace = false): void {
  const url = `${BASE}${to}`;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  dispatchEvent(new Event("console:navigate"));
  if (!replace) scrollTo(0, 0);
}

/** An in-app link: a real href (open in a new tab works), navigation without a reload. */
export function onLink(e: MouseEvent): void {
  const a = e.currentTarget as HTMLAnchorElement;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  e.preventDefault();
  navigate(a.pathname.slice(BASE.length) + a.search);
}
export const href = (to: string) => `${BASE}${to}`;
