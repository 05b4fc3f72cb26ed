// First, before any module that builds a zod schema: see the comment in zodJitless.ts.
import './lib/zodJitless';
import './styles/app.css';
import { mount } from 'svelte';
import NoToken from './components/NoToken.svelte';
import Studio from './components/Studio.svelte';
import { connect } from './lib/transport';
import { createStudio, studioContext } from './state/studio';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element to mount into');

const connection = connect();
if (connection.kind === 'no-token') {
  mount(NoToken, { target });
} else {
  mount(Studio, { target, context: studioContext(createStudio(connection.bridge)) });
}
