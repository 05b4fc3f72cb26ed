/** What the build ships for the Electron shell, checked where Electron itself cannot run. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtFile } from './helpers/built';
import { CONTENT_SECURITY_POLICY_META } from '../src/shared/security';

describe('the built app', () => {
  it('has a preload that a sandboxed renderer can load: CommonJS, requiring only electron', () => {
    const preload = readFileSync(builtFile('preload/index.cjs'), 'utf8');
    const required = [...preload.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(required).toEqual(['electron']);
    expect(preload).not.toMatch(/^\s*import\s/m);
    expect(preload).toContain('exposeInMainWorld');
  });

  it('ships the studio CSP in the page itself, for Electron and for any browser', () => {
    const html = readFileSync(builtFile('renderer/index.html'), 'utf8');
    const unescape = (text: string) => text.replaceAll('&#39;', "'").replaceAll('&quot;', '"').replaceAll('&amp;', '&');
    const metas = [...html.matchAll(/<meta http-equiv="Content-Security-Policy" content="([^"]+)"/g)].map((m) =>
      unescape(m[1] ?? ''),
    );
    expect(metas).toEqual([CONTENT_SECURITY_POLICY_META]);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('opens its window with context isolation and the sandbox on and Node integration off', () => {
    const main = readFileSync(builtFile('main/index.js'), 'utf8');
    expect(main).toMatch(/contextIsolation:\s*true/);
    expect(main).toMatch(/sandbox:\s*true/);
    expect(main).toMatch(/nodeIntegration:\s*false/);
    expect(main).toMatch(/enableSandbox\(\)/);
  });
});
