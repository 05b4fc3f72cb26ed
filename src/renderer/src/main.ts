// First, before any module that builds a zod schema: see the comment in zodJitless.ts.
import './lib/zodJitless';
import './styles/app.css';
import { mount } from 'svelte';
import NoToken from './app/NoToken.svelte';
import RatingApp from './features/rate/RatingApp.svelte';
import Studio from './app/Studio.svelte';
import { Client } from './lib/client';
import { RatingApi } from './features/rate/ratingApi';
import { connect } from './lib/transport';
import { ratingDeskContext } from './features/rate/ratingDesk.svelte';
import { RatingSession } from './features/rate/ratingSession.svelte';
import { createStudio, studioContext } from './app/studio';
import { rateWhenReady } from './app/rateWhenReady';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element to mount into');

const connection = connect();
if (connection.kind === 'no-token') {
  mount(NoToken, { target });
} else if (connection.kind === 'annotator') {
  // An annotator's link: the rating screen alone, its calls without campaign or annotator (the server adds both).
  const session = new RatingSession(new RatingApi(new Client(connection.bridge), null), {
    visible: document.visibilityState === 'visible',
  });
  mount(RatingApp, { target, props: { session } });
} else {
  const studio = createStudio(connection.bridge);
  const client = new Client(connection.bridge);
  const context = new Map<symbol, unknown>([...studioContext(studio), ratingDeskContext(client)]);
  mount(Studio, { target, context });
  // A link naming a campaign (npm start's) opens on it, ready to rate once it is.
  const campaign = new URLSearchParams(window.location.hash.slice(1)).get('campaign');
  if (campaign) void rateWhenReady(client, studio, campaign);
}
