/**
 * The Node the Electron shell forks the backend with: its own binary as Node in a package (no system
 * Node there), the system Node in development. The fork itself runs in backendProcess.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { backendRuntime, isExternalLink } from '../../src/main/shell/backendRuntime';

describe('backendRuntime', () => {
  it("runs a packaged app's backend on the Electron binary as Node", () => {
    const r = backendRuntime({
      packaged: true,
      execPath: '/opt/A-LoL Studio/alol-studio',
      env: { PATH: '/usr/bin', ALOL_NODE: '/usr/bin/node' },
    });
    expect(r.execPath).toBe('/opt/A-LoL Studio/alol-studio');
    expect(r.env).toMatchObject({ PATH: '/usr/bin', ELECTRON_RUN_AS_NODE: '1' });
  });

  it("runs npm start's backend on the Node that started it, never as Electron", () => {
    const r = backendRuntime({
      packaged: false,
      execPath: '/x/electron',
      env: { ALOL_NODE: '/usr/local/bin/node', ELECTRON_RUN_AS_NODE: '1' },
    });
    expect(r.execPath).toBe('/usr/local/bin/node');
    expect('ELECTRON_RUN_AS_NODE' in r.env).toBe(false);
    expect(backendRuntime({ packaged: false, execPath: '/x/electron', env: {} }).execPath).toBe('node');
  });
});

describe('isExternalLink', () => {
  it('hands only web and mail links to the system browser', () => {
    for (const url of ['https://example.org/a?b=1', 'http://localhost:8080/', 'mailto:someone@example.org'])
      expect(isExternalLink(url), url).toBe(true);
    for (const url of [
      'javascript:alert(1)',
      'file:///etc/passwd',
      'data:text/html,<b>x</b>',
      'vbscript:x',
      'not a url',
      '',
    ])
      expect(isExternalLink(url), url).toBe(false);
  });
});
