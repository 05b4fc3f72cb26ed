/**
 * What `npm run dist` packages, checked where electron-builder itself cannot run (it downloads
 * Electron): the icon set, the favicon the build serves, and electron-builder.yml validated by
 * electron-builder's own schema (app-builder-lib, electron-builder's library, is installed with it).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { DOMParser } from '@xmldom/xmldom';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config';
import type { Configuration } from 'app-builder-lib';
import { DebugLogger } from 'builder-util/out/DebugLogger';
import { describe, expect, it } from 'vitest';
import { builtFile } from './helpers/built';
import { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_META } from '../src/shared/security';

const root = fileURLToPath(new URL('..', import.meta.url));
const SIZES = [16, 32, 48, 64, 128, 256, 512];

interface Png {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** Alpha of the top-left pixel: with every PNG filter, row 0's first pixel is stored as is. */
  cornerAlpha: number;
}

function readPng(path: string): Png {
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(bytes.toString('latin1', 12, 16)).toBe('IHDR');
  const idat: Buffer[] = [];
  for (let at = 8; at < bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const pixels = inflateSync(Buffer.concat(idat));
  // Byte 0 is row 0's filter type, then R, G, B, A of the first pixel (8-bit RGBA).
  return {
    width: bytes.readUInt32BE(16),
    height: bytes.readUInt32BE(20),
    bitDepth: bytes[24]!,
    colorType: bytes[25]!,
    cornerAlpha: pixels[4]!,
  };
}

/** Parses XML with xmldom (installed with electron-builder, for plist), refusing any error or warning. */
function parseSvg(text: string) {
  const errors: string[] = [];
  const document = new DOMParser({
    // xmldom 0.8 reports an unclosed element or unquoted attribute only as a warning.
    errorHandler: (level: string, message: string) => errors.push(`${level}: ${message}`),
  }).parseFromString(text, 'image/svg+xml');
  expect(errors).toEqual([]);
  return document.documentElement!;
}

async function builderConfig(): Promise<Configuration> {
  return getConfig(root, `${root}electron-builder.yml`, null);
}

function filePatterns(config: Configuration): string[] {
  const files = Array.isArray(config.files) ? config.files : [config.files];
  return files.flatMap((entry): string[] => (typeof entry === 'string' ? [entry] : [entry?.filter ?? []].flat()));
}

describe('the app icon', () => {
  it('is an SVG with a square viewBox, with nothing remote or scripted in it', () => {
    const text = readFileSync(`${root}resources/icon.svg`, 'utf8');
    const svg = parseSvg(text);
    expect(svg.localName).toBe('svg');
    expect(svg.namespaceURI).toBe('http://www.w3.org/2000/svg');
    const viewBox = (svg.getAttribute('viewBox') ?? '')
      .trim()
      .split(/[\s,]+/)
      .map(Number);
    expect(viewBox).toHaveLength(4);
    expect(viewBox.every(Number.isFinite)).toBe(true);
    expect(viewBox[2]).toBeGreaterThan(0);
    expect(viewBox[2]).toBe(viewBox[3]);
    expect(text).not.toMatch(/<script|href=|url\(|@import/i);
  });

  it('has a PNG at every size of the Linux icon set, each the size its name says, with transparent corners', () => {
    const names = readdirSync(`${root}resources/icons`).filter((name) => name.endsWith('.png'));
    expect(names.sort()).toEqual(SIZES.map((size) => `${size}x${size}.png`).sort());
    for (const name of names) {
      const [width, height] = name.replace('.png', '').split('x').map(Number);
      const png = readPng(`${root}resources/icons/${name}`);
      expect({ name, width: png.width, height: png.height }).toEqual({ name, width, height });
      expect({ name, bitDepth: png.bitDepth, colorType: png.colorType }).toEqual({ name, bitDepth: 8, colorType: 6 });
      // Rounded corners on a transparent page (an opaque background would read 255 here); at 16 px
      // antialiasing of the curve leaves a trace of alpha in the corner pixel.
      expect({ name, transparentCorner: png.cornerAlpha < 16 }).toEqual({ name, transparentCorner: true });
    }
  });

  it('has resources/icon.png at 512 px, the one macOS and Windows icons are made from', () => {
    expect(readPng(`${root}resources/icon.png`)).toMatchObject({ width: 512, height: 512 });
    expect(readFileSync(`${root}resources/icon.png`)).toEqual(readFileSync(`${root}resources/icons/512x512.png`));
  });
});

describe('the favicon', () => {
  it('is the app icon, built into the renderer and linked from its page by a relative address', () => {
    const icon = readFileSync(`${root}resources/icon.svg`);
    expect(readFileSync(`${root}src/renderer/public/favicon.svg`)).toEqual(icon);
    expect(readFileSync(builtFile('renderer/favicon.svg'))).toEqual(icon);
    const html = readFileSync(builtFile('renderer/index.html'), 'utf8');
    // Relative, so it resolves under file:// (the Electron window) as well as over HTTP.
    expect(html).toMatch(/<link rel="icon" type="image\/svg\+xml" href="\.\/favicon\.svg"/);
  });

  it('is allowed by the CSP: images from the studio itself', () => {
    for (const policy of [CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_META]) {
      const imgSrc = policy
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .find(([name]) => name === 'img-src');
      expect(imgSrc).toContain("'self'");
    }
  });
});

describe('electron-builder.yml', () => {
  it("passes electron-builder's own configuration validator", async () => {
    await expect(validateConfiguration(await builderConfig(), new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('is checked by that validator for real: a misspelt option fails it', async () => {
    const config = await builderConfig();
    const wrong = { ...config, linux: { ...config.linux, catgory: 'Science' } } as Configuration;
    await expect(validateConfiguration(wrong, new DebugLogger(false))).rejects.toThrow(/configuration/i);
  });

  it('packs the built app with its resources, and unpacks native addons from the asar', async () => {
    const config = await builderConfig();
    expect(config.productName).toBe('A-LoL Studio');
    expect(config.appId).toMatch(/^[a-z][\w-]*(\.[a-z][\w-]*)+$/);
    expect(config.directories?.buildResources).toBe('resources');
    const files = filePatterns(config);
    expect(files).toContain('out/**');
    expect(files).toContain('package.json');
    // The window icon, which the Electron shell loads from the app itself.
    expect(files).toContain('resources/icon.png');
    expect(
      files.some(
        (pattern) =>
          pattern.startsWith('!') && /\btest\b/.test(pattern) && /\bsrc\b/.test(pattern) && /\bbench\b/.test(pattern),
      ),
    ).toBe(true);
    expect(config.asarUnpack).toContain('**/*.node');
    // Native dependencies are rebuilt for Electron's ABI (electron-builder's default, kept on).
    expect(config.npmRebuild).not.toBe(false);
    const packageJson = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
      main: string;
      scripts: Record<string, string>;
    };
    expect(packageJson.main).toMatch(/^(\.\/)?out\//);
    expect(packageJson.scripts.dist).toBe('electron-vite build && electron-builder');
  });

  it('builds AppImage and deb on Linux, dmg on macOS, nsis on Windows, with icons that exist', async () => {
    const config = await builderConfig();
    const targets = (value: unknown): string[] =>
      (Array.isArray(value) ? value : [value]).map((t) =>
        typeof t === 'string' ? t : (t as { target: string }).target,
      );
    expect(targets(config.linux?.target).sort()).toEqual(['AppImage', 'deb']);
    expect(targets(config.mac?.target)).toEqual(['dmg']);
    expect(targets(config.win?.target)).toEqual(['nsis']);
    expect(config.linux?.category?.split(';').filter(Boolean)).toEqual(['Science', 'Development']);
    for (const icon of [config.linux?.icon, config.mac?.icon, config.win?.icon]) {
      expect(icon).toBeTruthy();
      expect(existsSync(`${root}${icon}`)).toBe(true);
    }
  });
});
