/**
 * Entry of the backend behind the Electron window: a plain Node process (so better-sqlite3 and
 * TensorFlow.js load as npm built them, with no Electron rebuild) that serves the contract over the
 * fork IPC channel. The Electron main process only relays.
 */
import { parseArgs } from 'node:util';
import { createBackend } from '../app/backend';
import { seedDemoProject } from '../workflows/demoProject';
import { requestedTensorBackend } from '../lm/tensorBackend';
import { resolveProjectDir } from '../core/project';
import type { FromBackend, ToBackend } from './backendMessages';

const send = (message: FromBackend) => process.send?.(message);

if (!process.send) {
  console.error('backend.js is started by the Electron shell as a forked process, not by hand');
  process.exit(2);
}

const { values } = parseArgs({
  options: { project: { type: 'string' }, backend: { type: 'string' }, 'seed-demo': { type: 'boolean' } },
  strict: false,
});
const backend = createBackend({
  projectDir: resolveProjectDir(
    typeof values.project === 'string' ? values.project : undefined,
    process.env,
    process.env.ALOL_APP_DATA,
  ),
  shell: 'electron',
  forcedTensorBackend: requestedTensorBackend(
    typeof values.backend === 'string' ? values.backend : undefined,
    process.env,
  ),
});
backend.bus.subscribe(({ name, payload }) => send({ type: 'event', name, payload }));
process.on('message', (message: ToBackend) => {
  if (message.type !== 'call') return;
  void backend
    .dispatch(message.method, message.input)
    .then((result) => send({ type: 'result', id: message.id, result }));
});
process.on('disconnect', () => {
  backend.close();
  process.exit(0);
});
send({ type: 'ready' });
if (values['seed-demo'] === true) {
  seedDemoProject(backend, (line) => console.log(line)).catch((error: unknown) =>
    console.error(
      `Demo loop stopped: ${error instanceof Error ? error.message : String(error)} (the next start continues it)`,
    ),
  );
}
