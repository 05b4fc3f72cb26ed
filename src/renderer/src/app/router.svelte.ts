/**
 * Keeps the address's hash route and the studio's state in step: the state writes the route (a new
 * history entry per screen, so Back returns), and a route (a reload, Back, Forward, a pasted
 * address) sets the state. A fragment that is no route (a token link's `campaign=`) is left for the
 * code that reads it and replaced by the route once the state changes.
 */
import { formatRoute, parseRoute, type Route } from './route';
import type { Studio } from './studio';

function current(studio: Studio): Route {
  const { app, campaigns } = studio;
  return {
    screen: app.screen,
    campaign: app.screen === 'campaigns' ? (campaigns.open?.name ?? null) : null,
    rating: app.screen === 'rate' ? app.rating : null,
  };
}

function apply(studio: Studio, route: Route): void {
  const { app, campaigns } = studio;
  if (route.screen === 'campaigns') {
    if (route.campaign) campaigns.openCampaign(route.campaign);
    else if (campaigns.open) campaigns.closeCampaign();
  }
  app.follow(route.screen, route.rating);
}

/** Starts following the address; returns the function that stops it. */
export function startRouter(studio: Studio): () => void {
  const initial = parseRoute(location.hash);
  if (initial) apply(studio, initial);
  const onPop = (): void => {
    const route = parseRoute(location.hash);
    if (route) apply(studio, route);
  };
  window.addEventListener('popstate', onPop);
  let first = true;
  const stop = $effect.root(() => {
    $effect(() => {
      const hash = formatRoute(current(studio));
      if (hash === location.hash) return;
      const url = `${location.pathname}${location.search}${hash}`;
      // The first write names where the page already is: no entry for Back to stop at.
      const replace = first && !initial;
      first = false;
      try {
        if (replace) history.replaceState(history.state, '', url);
        else history.pushState(null, '', url);
      } catch {
        // A page the history API may not rewrite (some file: URLs): the fragment still moves.
        location.hash = hash;
      }
    });
  });
  return () => {
    window.removeEventListener('popstate', onPop);
    stop();
  };
}
