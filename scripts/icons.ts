/**
 * Renders resources/icon.svg, the one source of the studio's icon, into the PNGs the packaged app
 * uses (resources/icons/NNxNN.png, electron-builder's Linux icon set, and resources/icon.png at
 * 512 px, from which it makes the macOS and Windows icons) and copies it as the web UI's favicon
 * (src/renderer/public/favicon.svg). Run after editing the SVG: npx tsx scripts/icons.ts
 *
 * The SVG is drawn by headless Chromium (playwright-core, already a dev dependency for the
 * end-to-end tests) on a transparent page, so the PNGs keep the icon's rounded corners.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}resources/icon.svg`;
const ICON_SIZES = [16, 32, 48, 64, 128, 256, 512] as const;

async function main(): Promise<void> {
  const svg = readFileSync(source);
  const dataUrl = `data:image/svg+xml;base64,${svg.toString('base64')}`;
  mkdirSync(`${root}resources/icons`, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    for (const size of ICON_SIZES) {
      await page.setViewportSize({ width: size, height: size });
      await page.setContent(
        `<!doctype html><html><body style="margin:0;background:transparent">` +
          `<img id="icon" src="${dataUrl}" width="${size}" height="${size}" style="display:block">` +
          `</body></html>`,
      );
      // Wait until the SVG is decoded (typed structurally: the Node tsconfig has no DOM lib).
      await page.locator('#icon').evaluate((img) => (img as unknown as { decode(): Promise<void> }).decode());
      const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
      writeFileSync(`${root}resources/icons/${size}x${size}.png`, png);
      if (size === 512) writeFileSync(`${root}resources/icon.png`, png);
      console.log(`resources/icons/${size}x${size}.png`);
    }
  } finally {
    await browser.close();
  }
  copyFileSync(source, `${root}src/renderer/public/favicon.svg`);
  console.log('resources/icon.png, src/renderer/public/favicon.svg');
}

await main();
