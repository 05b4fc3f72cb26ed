/** The studio in a browser: the backend behind the HTTP adapter, with the built renderer. */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createBackend } from '../app/backend';
import { initTensorBackend } from '../lm/tensorBackend';
import { isLoopback, networkUrls, startHttpServer, type RunningServer } from './httpServer';
import { DEMO, seedDemoProject } from '../workflows/demoProject';
import type { TensorBackendName } from '../../shared/contract';

export interface ServeOptions {
  projectDir: string;
  host: string;
  /** null: the usual port if it is free, else any free one. */
  port: number | null;
  open: boolean;
  json: boolean;
  forcedTensorBackend: { name: TensorBackendName; by: string } | null;
  /** Give a new, empty project the demo dataset and model (npm start does). */
  seedDemo?: boolean;
  /** Serve a rating campaign: check it is ready and say how annotators join. */
  campaign?: string;
}

export const DEFAULT_PORT = 5917;

export function rendererDir(): string {
  return fileURLToPath(new URL('../renderer', import.meta.url));
}

/** Opens the default browser where there is one; says so where there is not. */
function openBrowser(url: string): boolean {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

/** Serves until SIGINT or SIGTERM, then shuts down cleanly and resolves. */
export async function serveStudio(options: ServeOptions): Promise<void> {
  const dir = rendererDir();
  if (!existsSync(`${dir}/index.html`)) throw new Error(`${dir}/index.html is missing: run npm run build first`);
  const backendReport = initTensorBackend(options.forcedTensorBackend);
  // Started now so app.info answers quickly; a failure is reported there, not as a crash.
  backendReport.catch(() => undefined);
  let running: RunningServer | null = null;
  const serverInfo = () =>
    running && {
      host: options.host,
      port: running.port,
      network: !isLoopback(options.host),
      urls: networkUrls(options.host, running.port),
    };
  const backend = createBackend({
    projectDir: options.projectDir,
    shell: 'browser',
    forcedTensorBackend: options.forcedTensorBackend,
    server: serverInfo,
  });
  const campaign = options.campaign === undefined ? null : backend.campaigns.ready(options.campaign);
  const token = randomBytes(24).toString('base64url');
  // Listened for from here on, so a signal during start-up also ends in a clean shutdown.
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    const on = (name: NodeJS.Signals) => () => {
      // A second signal during the shutdown is the default one: it ends the process at once.
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(name);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  const listen = (port: number) =>
    startHttpServer({
      dispatch: backend.dispatch,
      bus: backend.bus,
      token,
      rendererDir: dir,
      host: options.host,
      port,
      annotatorAccess: (t) => backend.campaigns.byToken(t),
    });
  const server =
    options.port !== null
      ? await listen(options.port)
      : await listen(DEFAULT_PORT).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EADDRINUSE') return listen(0);
          throw error;
        });
  running = server;
  const focus = campaign?.name ?? (options.seedDemo ? DEMO.campaign : null);
  const fragment = `#token=${token}${focus ? `&campaign=${encodeURIComponent(focus)}` : ''}`;
  // Bound to a wildcard, the printed address is not one a browser opens: the loopback one is.
  const localUrl =
    options.host === '0.0.0.0' || options.host === '::' ? `http://127.0.0.1:${server.port}/` : server.url;
  const link = `${localUrl}${fragment}`;
  const lanUrls = networkUrls(options.host, server.port);

  if (options.json) {
    console.log(
      JSON.stringify({
        event: 'listening',
        url: server.url,
        port: server.port,
        token,
        projectDir: backend.paths.dir,
        campaign: campaign?.name ?? null,
        lanUrls,
        links: [link, ...lanUrls.map((u) => `${u}${fragment}`)],
      }),
    );
  } else {
    if (campaign) {
      const summary = backend.campaigns.summary(campaign);
      console.log(
        `Campaign "${summary.name}": ${summary.done}/${summary.target} ratings, ${summary.annotators.length} annotators`,
      );
      const hostFlag = lanUrls.length > 0 ? ` --host ${options.host}` : '';
      console.log(
        `Annotators join by their personal links (one per address): alol annotator add NAME --campaign "${summary.name}" --port ${server.port}${hostFlag}`,
      );
      if (isLoopback(options.host))
        console.log(
          `(bound to ${options.host}: only this machine can reach it; --host 0.0.0.0 serves the local network)`,
        );
    }
    console.log(`A-LoL Studio: project ${backend.paths.dir}`);
    console.log(`Open ${link}`);
    for (const url of lanUrls) console.log(`  or, from the network: ${url}${fragment}`);
    if (!isLoopback(options.host) && lanUrls.length === 0) console.log('(no network address found on this machine)');
    await backendReport.then(
      (report) => console.log(`Tensor backend: ${report.chosen} (${report.reason})`),
      (error: unknown) =>
        console.log(`Tensor backend: none (${error instanceof Error ? error.message : String(error)})`),
    );
  }
  if (options.seedDemo) {
    // The loop runs while the studio is up, so its runs and jobs can be watched as they go.
    const log = (line: string) => (options.json ? undefined : console.log(line));
    void seedDemoProject(backend, log).then(
      (outcome) => {
        if (!outcome) return;
        const rateLink = `${localUrl}#token=${token}&campaign=${encodeURIComponent(outcome.campaign)}`;
        if (options.json) console.log(JSON.stringify({ event: 'demo-ready', ...outcome }));
        else console.log(`Rate now: ${rateLink}`);
      },
      (error: unknown) =>
        console.error(
          `Demo loop stopped: ${error instanceof Error ? error.message : String(error)} (the next start continues it)`,
        ),
    );
  }
  if (options.open && !process.env.CI && !openBrowser(link) && !options.json) {
    console.log('(no desktop browser to open here: open the link above yourself)');
  }

  // Until SIGINT or SIGTERM (listened for since start-up): then no new requests, the ones under
  // way answered (each rating its own committed transaction), job processes stopped and SQLite
  // closed; the promise resolves after.
  const signal = await stopRequested;
  if (!options.json) console.log(`${signal}: stopping (the requests under way finish first)`);
  await server.close();
  backend.close();
  if (options.json) console.log(JSON.stringify({ event: 'stopped', signal }));
  else console.log('Stopped; every answer given is saved.');
}
