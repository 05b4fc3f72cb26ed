/**
 * The Electron shell: one secure window (context isolation, sandbox, no Node in the renderer,
 * strict CSP, no navigation, no new windows (http(s) and mailto links go to the system browser), no
 * permissions) and a relay from IPC to the backend process. Only this file imports electron.
 */
import { app, BrowserWindow, ipcMain, session, shell, type WebFrameMain } from 'electron';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ipcChannels } from '../../shared/bridge';
import { CONTENT_SECURITY_POLICY } from '../../shared/security';
import { DEMO } from '../../shared/demo';
import type { FromBackend, ToBackend } from './backendMessages';
import type { DispatchResult } from '../app/dispatch';
import { backendRuntime, isExternalLink } from './backendRuntime';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const rendererIndex = here('../renderer/index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;

app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();

function isTrusted(frame: WebFrameMain | null): boolean {
  // The page itself, whatever its #fragment (npm start's names the demo campaign).
  return frame !== null && frame.url.split('#')[0] === rendererUrl;
}

function startBackend() {
  // Arguments after our entry (--project, --backend) go to the backend.
  const entryIndex = process.argv.findIndex((arg) => arg.endsWith('index.js'));
  const runtime = backendRuntime({ packaged: app.isPackaged, execPath: process.execPath, env: process.env });
  const child = fork(here('./backend.js'), process.argv.slice(entryIndex + 1), {
    execPath: runtime.execPath,
    env: { ...runtime.env, ALOL_APP_DATA: app.getPath('userData') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (result: DispatchResult) => void>();
  let nextId = 1;
  child.on('message', (message: FromBackend) => {
    if (message.type === 'result') {
      pending.get(message.id)?.(message.result);
      pending.delete(message.id);
    } else if (message.type === 'event') {
      for (const window of BrowserWindow.getAllWindows())
        window.webContents.send(ipcChannels.event, message.name, message.payload);
    }
  });
  child.on('exit', (code) => {
    for (const resolve of pending.values())
      resolve({ ok: false, error: { code: 'crashed', message: `the backend stopped (exit code ${code})` } });
    pending.clear();
    if (!app.isReady() || BrowserWindow.getAllWindows().length > 0) app.quit();
  });
  return {
    call(method: string, input: unknown): Promise<DispatchResult> {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.send({ type: 'call', id, method, input } satisfies ToBackend);
      });
    },
    stop: () => child.disconnect(),
  };
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 840,
    title: 'A-LoL Studio',
    // A PNG: Linux takes no SVG window icon; resources/ ships inside the package (electron-builder.yml).
    icon: join(app.getAppPath(), 'resources/icon.png'),
    show: false,
    webPreferences: {
      preload: here('../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  // No window ever opens inside the app; a link the page has confirmed (markdown.ts openLink) goes to the system browser.
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.once('ready-to-show', () => window.show());
  // npm start's demo loop: open on its campaign, which the page rates once it is ready (as in the browser).
  void window.loadFile(
    rendererIndex,
    process.argv.includes('--seed-demo') ? { hash: `campaign=${DEMO.campaign}` } : {},
  );
  return window;
}

void app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  const backend = startBackend();
  ipcMain.handle(ipcChannels.call, (event, method: unknown, input: unknown) => {
    if (!isTrusted(event.senderFrame))
      return { ok: false, error: { code: 'forbidden', message: 'call from an untrusted frame' } };
    return backend.call(String(method), input);
  });
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  app.on('window-all-closed', () => {
    backend.stop();
    app.quit();
  });
});
