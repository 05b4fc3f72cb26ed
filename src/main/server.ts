/** Entry: the studio served over HTTP. `node out/main/server.js` + SERVE_USAGE. */
import { serveFromArgs } from './http/serveFromArgs';

serveFromArgs(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`alol studio: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
