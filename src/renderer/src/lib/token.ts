/**
 * The HTTP server hands the owner's token in the page address (`#token=...`). Keeping it in
 * sessionStorage lets a reload work, and taking it out of the address bar keeps it out of
 * history, bookmarks and screenshots.
 */
const STORAGE_KEY = 'alol.token';

export function takeToken(): string | null {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    sessionStorage.setItem(STORAGE_KEY, fromUrl);
    fragment.delete('token');
    const rest = fragment.toString();
    const { pathname, search } = window.location;
    history.replaceState(history.state, '', pathname + search + (rest ? `#${rest}` : ''));
    return fromUrl;
  }
  return sessionStorage.getItem(STORAGE_KEY);
}
