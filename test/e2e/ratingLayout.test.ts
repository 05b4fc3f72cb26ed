/**
 * The rating screen on a real conversation, at 1280x720: an HH-style prompt of 21 turns and two
 * responses of 400+ words each. The campaign is made by the real machinery (a dataset imported
 * from a JSONL written here, two tiny models, the preparation job); the sampled responses of tiny
 * untrained models are a few tokens of noise, so the fixture then gives the samples long texts in
 * the project's SQLite file before the server opens it (what is under test is the screen, not the
 * sampler). Checked with bounding boxes in Chromium: the last human turn and the whole decision bar
 * are inside the viewport; the keys scroll the conversation and each response; the guidelines open
 * on the first visit only; auto-advance submits the second answer and is remembered. Also the
 * desktop's Rate screen, reached by a click in the navigation: same layout, and Enter submits.
 * Needs `npx electron-vite build` first, and Chromium.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, importPath, openBackend } from '../helpers/backend';
import { finished, TINY_MODEL } from '../helpers/campaign';
import { callAs, launchChromium, startStudioServer, stopStudioServer, watchedPage } from './studio';

const C = 'long-talk';
const VIEW = { width: 1280, height: 720 };

const TOPICS = [
  'a sourdough starter',
  'a leaking tap',
  'learning the cello',
  'a trip to Lisbon',
  'a small vegetable garden',
];

/** A 21-turn HH transcript (ten exchanges, then the last human turn), each turn a few sentences long. */
function conversation(topic: string, n: number): string {
  let text = '';
  for (let i = 1; i <= 10; i++) {
    text += `\n\nHuman: Question ${i} about ${topic}: what should I try next, given what you said before? I have tried a few things already and I would like a clear answer this time.`;
    text += `\n\nAssistant: Answer ${i} about ${topic}: start small, change one thing at a time, and keep notes of what you changed so that you can tell what helped and what did not.`;
  }
  return `${text}\n\nHuman: Last request ${n}: summarise the plan for ${topic} in a few steps.`;
}

/** A response of `words` words in paragraphs, tagged so the two sides differ. */
function longResponse(tag: string, words: number): string {
  const sentence =
    `${tag} says to measure first, then adjust slowly, and write down each result for later review`.split(' ');
  const out: string[] = [];
  for (let i = 0; out.length < words; i++) out.push(sentence[i % sentence.length] as string);
  const paragraphs: string[] = [];
  for (let i = 0; i < out.length; i += 60) paragraphs.push(out.slice(i, i + 60).join(' ') + '.');
  return paragraphs.join('\n\n');
}

const inViewport = (box: { x: number; y: number; width: number; height: number } | null): boolean =>
  box !== null && box.y >= 0 && box.x >= 0 && box.y + box.height <= VIEW.height && box.x + box.width <= VIEW.width;

async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const b = await locator.boundingBox();
  if (!b) throw new Error('element has no box (not visible)');
  return b;
}

const scrollTop = (locator: Locator): Promise<number> => locator.evaluate((element) => element.scrollTop);

/** The layout checks both pages share: the last human turn shown whole in its box, the decision bar whole, both in the viewport. */
async function checkLayout(page: Page): Promise<void> {
  const turns = Number(await page.getByTestId('rating-conversation').getAttribute('data-turns'));
  expect(turns).toBe(21);
  const scroller = page.getByTestId('rating-conversation-scroll');
  const last = page.getByTestId('rating-last-human');
  expect(await last.innerText()).toContain('Last request');
  const lastBox = await box(last);
  const scrollerBox = await box(scroller);
  // Inside the viewport and inside the visible part of its scrolling box: not merely in the DOM.
  expect(inViewport(lastBox)).toBe(true);
  expect(lastBox.y).toBeGreaterThanOrEqual(scrollerBox.y - 1);
  expect(lastBox.y + lastBox.height).toBeLessThanOrEqual(scrollerBox.y + scrollerBox.height + 1);
  // The conversation opened scrolled: earlier turns are above.
  expect(await scrollTop(scroller)).toBeGreaterThan(0);

  for (const testid of [
    'rating-decision',
    'question-helpful',
    'question-safe',
    'strength-helpful',
    'strength-safe',
    'rating-submit',
    'rating-skip',
    'rating-undo',
  ]) {
    expect({ testid, inside: inViewport(await box(page.getByTestId(testid))) }).toEqual({ testid, inside: true });
  }
  // The responses are the long ones, each in a box that scrolls.
  for (const side of ['left', 'right']) {
    const pane = page.getByTestId(`rating-${side}`);
    expect((await pane.innerText()).split(/\s+/).filter(Boolean).length).toBeGreaterThanOrEqual(400);
    const [scrollHeight, clientHeight] = await pane.evaluate((e) => [e.scrollHeight, e.clientHeight]);
    expect(scrollHeight).toBeGreaterThan(clientHeight);
    // The responses sit above the decision bar, not under it.
    expect((await box(pane)).y + Math.min(40, clientHeight)).toBeLessThanOrEqual(
      (await box(page.getByTestId('rating-decision'))).y,
    );
  }
  // Nothing hangs below the window: the page itself does not scroll.
  expect(Number(await page.evaluate('document.scrollingElement.scrollHeight'))).toBeLessThanOrEqual(VIEW.height);
}

describe('Rating screen on a long conversation at 1280x720', () => {
  let projectDir = '';
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  let url = '';
  let ownerToken = '';
  let token = '';

  beforeAll(async () => {
    projectDir = await mkdtemp(join(tmpdir(), 'alol-e2e-layout-'));
    const jsonl = join(projectDir, 'long-talk.jsonl');
    await writeFile(
      jsonl,
      TOPICS.map((topic, i) => {
        const prompt = conversation(topic, i + 1);
        return JSON.stringify({ chosen: `${prompt}\n\nAssistant: Fine.`, rejected: `${prompt}\n\nAssistant: No.` });
      }).join('\n') + '\n',
    );
    const backend = openBackend(projectDir);
    try {
      const imported = await importPath(backend, jsonl, 'long-talk');
      if (imported.status !== 'succeeded') throw new Error(`import ${imported.status}: ${imported.error?.message}`);
      for (const [i, name] of ['talk-a', 'talk-b'].entries()) {
        await finished(backend, () =>
          call(backend, 'models.create', { name, dataset: 'long-talk', ...TINY_MODEL, seed: i + 1 }),
        );
      }
      await finished(backend, () =>
        call(backend, 'campaigns.create', {
          name: C,
          models: ['talk-a', 'talk-b'],
          prompts: { dataset: 'long-talk' },
          n: 3,
          // Both annotators of these specs (a link's and the desktop's) get every item.
          overlap: 2,
          settings: { maxNewTokens: 4, greedy: false, seed: 1 },
        }),
      );
      const added = await call(backend, 'annotators.add', { campaign: C, name: 'rhea', link: true });
      token = added.token ?? '';
      // The responses the screen must hold: 400+ words a side, a different text per sample.
      const samples = backend.db
        .prepare(
          'SELECT DISTINCT s.id FROM items i JOIN samples s ON s.id IN (i.first_sample, i.second_sample) JOIN campaigns c ON c.id = i.campaign_id WHERE c.name = ? ORDER BY s.id',
        )
        .pluck()
        .all(C) as number[];
      expect(samples.length).toBeGreaterThanOrEqual(2);
      const update = backend.db.prepare('UPDATE samples SET response = ? WHERE id = ?');
      samples.forEach((id, i) => update.run(longResponse(`Reply ${i + 1}`, 420 + 10 * i), id));
    } finally {
      backend.close();
    }
    const started = await startStudioServer(projectDir, ['--port', '0', '--host', '127.0.0.1', '--campaign', C]);
    server = started.child;
    url = started.listening.url;
    ownerToken = started.listening.token;
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await stopStudioServer(server);
    if (projectDir) await rm(projectDir, { recursive: true, force: true });
  });

  it('an annotator link: last human turn and decision bar in view, keys scroll, guidelines once, auto-advance submits', async () => {
    if (!browser) throw new Error('no browser');
    const { page, consoleErrors } = await watchedPage(browser, { viewport: VIEW, locale: 'en-US' });
    await page.goto(`${url}#rate=${token}`);

    // First visit: the guidelines open over the item; G puts them away.
    await page.getByTestId('rating-guidelines').waitFor();
    await page.keyboard.press('g');
    await page.getByTestId('rating-guidelines').waitFor({ state: 'detached' });
    await page.getByTestId('rating-item').waitFor();
    await checkLayout(page);

    // U and J scroll the conversation.
    const scroller = page.getByTestId('rating-conversation-scroll');
    const opened = await scrollTop(scroller);
    await page.keyboard.press('u');
    await expect.poll(() => scrollTop(scroller)).toBeLessThan(opened);
    const up = await scrollTop(scroller);
    await page.keyboard.press('j');
    await expect.poll(() => scrollTop(scroller)).toBeGreaterThan(up);

    // Z scrolls response A alone, X response B alone; the arrows move both together.
    const left = page.getByTestId('rating-left');
    const right = page.getByTestId('rating-right');
    expect([await scrollTop(left), await scrollTop(right)]).toEqual([0, 0]);
    await page.keyboard.press('z');
    await expect.poll(() => scrollTop(left)).toBeGreaterThan(0);
    expect(await scrollTop(right)).toBe(0);
    await page.keyboard.press('x');
    await expect.poll(() => scrollTop(right)).toBeGreaterThan(0);
    const [leftDown, rightDown] = [await scrollTop(left), await scrollTop(right)];
    await page.keyboard.press('a');
    await expect.poll(() => scrollTop(left)).toBeLessThan(leftDown);
    await page.keyboard.press('s');
    await expect.poll(() => scrollTop(right)).toBeLessThan(rightDown);
    await page.keyboard.press('PageDown');
    await expect.poll(() => scrollTop(left)).toBeGreaterThan(0);
    await expect.poll(() => scrollTop(right)).toBeGreaterThan(0);

    // O folds the earlier turns: the last human turn stays, most turns go.
    await page.keyboard.press('o');
    await expect.poll(() => page.locator('[data-testid="rating-conversation"] > li.turn').count()).toBe(2);
    expect(inViewport(await box(page.getByTestId('rating-last-human')))).toBe(true);
    await page.keyboard.press('o');
    await expect.poll(() => page.locator('[data-testid="rating-conversation"] > li.turn').count()).toBe(21);

    // A second visit in this browser: no guidelines, straight to the item.
    await page.reload();
    await page.getByTestId('rating-item').waitFor();
    expect(await page.getByTestId('rating-guidelines').count()).toBe(0);
    await checkLayout(page);

    // Auto-advance, off by default: then the second answer alone does not submit.
    const toggle = page.getByTestId('rating-auto-advance');
    expect(await toggle.isChecked()).toBe(false);
    const first = Number(await page.getByTestId('rating-item').getAttribute('data-assignment'));
    await page.keyboard.press('3');
    await page.keyboard.press('e');
    expect(await page.getByTestId('rating-submit').isEnabled()).toBe(true);
    expect(Number(await page.getByTestId('rating-item').getAttribute('data-assignment'))).toBe(first);
    await page.keyboard.press('Enter');
    const second = Number(
      await page
        .locator(`[data-testid="rating-item"]:not([data-assignment="${first}"])`)
        .getAttribute('data-assignment'),
    );

    // On: the second answer submits, with both answers; the choice is remembered over a reload.
    await toggle.check();
    await page.keyboard.press('4');
    await page.keyboard.press('r');
    await page.locator(`[data-testid="rating-item"]:not([data-assignment="${second}"])`).waitFor();
    const recent = await callAs(url, token, 'rating.recent', { limit: 1 });
    expect(recent.status).toBe(200);
    const [latest] = recent.body as Array<{ assignmentId: number; rating: { helpful: string; safe: string } }>;
    expect(latest).toMatchObject({ assignmentId: second, rating: { helpful: 'both_bad', safe: 'both_bad' } });
    await page.reload();
    await page.getByTestId('rating-item').waitFor();
    expect(await page.getByTestId('rating-auto-advance').isChecked()).toBe(true);

    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });

  it('the desktop Rate screen, reached by a click in the navigation: the same layout, and Enter submits', async () => {
    if (!browser) throw new Error('no browser');
    const { page, consoleErrors } = await watchedPage(browser, { viewport: VIEW, locale: 'en-US' });
    await page.goto(`${url}#token=${ownerToken}`);
    await page.getByTestId('nav-rate').click();
    await page.getByTestId('rate-chooser').waitFor();
    expect(await page.getByTestId('rate-campaign').inputValue()).toBe(C);
    await page.getByTestId('rate-new-name').fill('theo');
    await page.getByTestId('rate-start').click();
    const rateScreen = page.getByTestId('rating-screen');
    await rateScreen.waitFor();
    // This annotator's first visit: the guidelines first.
    await page.getByTestId('rating-guidelines').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('rating-guidelines').waitFor({ state: 'detached' });
    // Go elsewhere and come back by mouse: the session is the one left, and the keys still reach it.
    await page.getByTestId('nav-models').click();
    await rateScreen.waitFor({ state: 'detached' });
    await page.getByTestId('nav-rate').click();
    await page.getByTestId('rating-item').waitFor();
    expect(await page.getByTestId('rating-guidelines').count()).toBe(0);
    await checkLayout(page);

    const before = Number(await page.getByTestId('rating-item').getAttribute('data-assignment'));
    await page.keyboard.press('1');
    await page.keyboard.press('q');
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="rating-item"]:not([data-assignment="${before}"])`).waitFor();
    // Still the Rate screen: Enter submitted rather than pressing the navigation button again.
    expect(await page.getByTestId('rating-screen').count()).toBe(1);
    expect((await page.getByTestId('rating-count').innerText()).trim()).toBe('1');
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });
});
