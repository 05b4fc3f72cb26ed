/**
 * The HTTP server hands the owner's token in the page address (`#token=...`); an annotator's
 * personal link carries theirs as `#rate=...`. Taking it out of the address bar keeps it out of
 * history, bookmarks and screenshots; the rest of the fragment (a route, `campaign=`) stays.
 *
 * The owner's token is kept in localStorage, which the browser keys by origin: a second tab of the
 * same studio (or a reload) needs no new link, while another server (another port) is another
 * origin and keeps its own. An annotator's token stays in sessionStorage, per tab: their link
 * reaches only their own rating screen, and it must not turn every later tab of that browser into
 * theirs. A token in the address replaces what the tab held, so a tab is one or the other.
 */
export type PageToken = { role: 'owner'; token: string } | { role: 'annotator'; token: string };

const KEYS = { owner: 'alol.token', annotator: 'alol.rate-token' } as const;
const PARAMS = { owner: 'token', annotator: 'rate' } as const;

/** Storage can be refused (a sandboxed or private window): the page then works for this load only. */
function tryStore(write: () => void): void {
  try {
    write();
  } catch {
    // Nothing to keep it in: a reload will need the link again.
  }
}

function read(storage: () => Storage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null;
  }
}

export function takeToken(): PageToken | null {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  for (const role of ['annotator', 'owner'] as const) {
    const fromUrl = fragment.get(PARAMS[role]);
    if (!fromUrl) continue;
    if (role === 'owner') {
      tryStore(() => localStorage.setItem(KEYS.owner, fromUrl));
      tryStore(() => sessionStorage.removeItem(KEYS.annotator));
    } else tryStore(() => sessionStorage.setItem(KEYS.annotator, fromUrl));
    fragment.delete(PARAMS.owner);
    fragment.delete(PARAMS.annotator);
    const rest = fragment.toString();
    const { pathname, search } = window.location;
    history.replaceState(history.state, '', pathname + search + (rest ? `#${rest}` : ''));
    return { role, token: fromUrl };
  }
  const annotator = read(() => sessionStorage, KEYS.annotator);
  if (annotator) return { role: 'annotator', token: annotator };
  const owner = read(() => localStorage, KEYS.owner);
  return owner ? { role: 'owner', token: owner } : null;
}
