import { parseArgs } from 'node:util';
import { serveStudio } from './serveStudio';
import { resolveProjectDir } from '../core/project';
import { requestedTensorBackend } from '../lm/tensorBackend';

export const SERVE_USAGE =
  '[--project DIR] [--host 127.0.0.1] [--port 5917] [--no-open] [--json] [--backend NAME] [--seed-demo] [--campaign C]';

/** Serves the studio from command-line arguments; the entry of `npm start` (browser mode), server.js and `alol studio`. */
export async function serveFromArgs(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      project: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      'no-open': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      backend: { type: 'string' },
      'seed-demo': { type: 'boolean', default: false },
      campaign: { type: 'string' },
    },
  });
  const port = values.port === undefined ? null : Number(values.port);
  if (port !== null && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new Error(`--port: expected a port number, got "${values.port}"`);
  }
  await serveStudio({
    projectDir: resolveProjectDir(values.project),
    host: values.host,
    port,
    open: !values['no-open'],
    json: values.json,
    forcedTensorBackend: requestedTensorBackend(values.backend, process.env),
    seedDemo: values['seed-demo'],
    ...(values.campaign !== undefined ? { campaign: values.campaign } : {}),
  });
}
