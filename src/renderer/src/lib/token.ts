/**
 * The HTTP server hands the owner's token in the page address (`#token=...`); an annotator's
 * personal link carries theirs as `#rate=...`. Keeping it in sessionStorage lets a reload work,
 * and taking it out of the address bar keeps it out of history, bookmarks and screenshots. The
 * two live under different keys, and a token in the address replaces whichever the tab held, so a
 * tab is one or the other.
 */
export type PageToken = { role: 'owner'; token: string } | { role: 'annotator'; token: string };

const KEYS = { owner: 'alol.token', annotator: 'alol.rate-token' } as const;
const PARAMS = { owner: 'token', annotator: 'rate' } as const;

export function takeToken(): PageToken | null {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  for (const role of ['annotator', 'owner'] as const) {
    const fromUrl = fragment.get(PARAMS[role]);
    if (!fromUrl) continue;
    sessionStorage.setItem(KEYS[role], fromUrl);
    sessionStorage.removeItem(KEYS[role === 'owner' ? 'annotator' : 'owner']);
    fragment.delete(PARAMS.owner);
    fragment.delete(PARAMS.annotator);
    const rest = fragment.toString();
    const { pathname, search } = window.location;
    history.replaceState(history.state, '', pathname + search + (rest ? `#${rest}` : ''));
    return { role, token: fromUrl };
  }
  const annotator = sessionStorage.getItem(KEYS.annotator);
  if (annotator) return { role: 'annotator', token: annotator };
  const owner = sessionStorage.getItem(KEYS.owner);
  return owner ? { role: 'owner', token: owner } : null;
}
