/** Entry: the studio served over HTTP. `node out/main/server.js` + SERVE_USAGE. */
import { serveFromArgs } from '../http/serveFromArgs';

// Resolves once the server has shut down on SIGINT/SIGTERM.
serveFromArgs(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`alol studio: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
