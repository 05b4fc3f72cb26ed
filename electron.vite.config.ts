import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { Plugin } from 'vite';
import { CONTENT_SECURITY_POLICY_META } from './src/shared/security';

/** Writes the studio's CSP into index.html from the one definition in src/shared/security.ts. */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'alol-content-security-policy',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY_META },
        injectTo: 'head-prepend',
      },
    ],
  };
}

// One build for both ways the studio runs: the Electron shell (index) and plain Node
// (cli, server, backend, job), so headless use and tests run exactly the code Electron ships.
export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve('src/main/shell/electronMain.ts'),
          cli: resolve('src/main/cli/main.ts'),
          launch: resolve('src/main/shell/launch.ts'),
          server: resolve('src/main/shell/server.ts'),
          backend: resolve('src/main/shell/backendProcess.ts'),
          job: resolve('src/main/shell/jobProcess.ts'),
        },
        // Shared chunks beside the entries, so an entry can find another (job.js) beside itself.
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        // A sandboxed preload cannot be an ES module.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    plugins: [contentSecurityPolicy(), svelte()],
  },
});
