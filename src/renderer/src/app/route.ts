/**
 * The studio's screens as hash routes (`#/data`, `#/campaigns/NAME`, `#/rate/CAMPAIGN/ANNOTATOR`),
 * so a reload keeps the screen and Back returns to the previous one. In the fragment, since the
 * server serves one page for every path, and the fragment never reaches the server's logs.
 */
import { screens, type RatingTarget, type ScreenId } from './app.svelte';

export interface Route {
  screen: ScreenId;
  /** The campaign open on the Campaigns screen. */
  campaign: string | null;
  /** Whom the Rate screen rates as, in which campaign. */
  rating: RatingTarget | null;
}

const ids = new Set<string>(screens.map((s) => s.id));

/** The route a fragment names, or null when it names none (empty, a token, an unknown screen). */
export function parseRoute(hash: string): Route | null {
  if (!hash.startsWith('#/')) return null;
  const parts = hash.slice(2).split('/');
  const [screen, ...rest] = parts;
  if (!screen || !ids.has(screen)) return null;
  let decoded: string[];
  try {
    decoded = rest.map((p) => decodeURIComponent(p));
  } catch {
    return null;
  }
  const id = screen as ScreenId;
  if (id === 'campaigns' && decoded[0]) return { screen: id, campaign: decoded[0], rating: null };
  if (id === 'rate' && decoded[0] && decoded[1] && /^\d+$/.test(decoded[1])) {
    return { screen: id, campaign: null, rating: { campaign: decoded[0], annotator: Number(decoded[1]) } };
  }
  return { screen: id, campaign: null, rating: null };
}

export function formatRoute(route: Route): string {
  if (route.screen === 'campaigns' && route.campaign) return `#/campaigns/${encodeURIComponent(route.campaign)}`;
  if (route.screen === 'rate' && route.rating)
    return `#/rate/${encodeURIComponent(route.rating.campaign)}/${route.rating.annotator}`;
  return `#/${route.screen}`;
}
