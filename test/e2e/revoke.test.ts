/**
 * A revoked annotator link, end to end in Chromium: an annotator rates through their personal link,
 * the owner revokes it from the campaign's Annotators panel, and the annotator's next submit is
 * refused (401) with the page saying, in words, that the link was revoked; the ratings given stay.
 * The owner's page meanwhile reads the event stream with its token in the Authorization header,
 * never in an address. Needs `npm run build` first, and Chromium.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { callAs, launchChromium, ownerApi, startStudioServer, stopStudioServer, watchedPage } from './studio';

const C = 'e2e-revoke';

describe('Revoking an annotator link', () => {
  let projectDir = '';
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  let url = '';
  let ownerToken = '';
  let token = '';
  let annotatorPage: Page;
  let ownerPage: Page;
  const errors: string[][] = [];
  /** Every request the owner's page made to the event stream: its address and its Authorization header. */
  const streams: Array<{ url: string; authorization: string | undefined }> = [];

  beforeAll(async () => {
    projectDir = await mkdtemp(join(tmpdir(), 'alol-e2e-revoke-'));
    const backend = openBackend(projectDir);
    try {
      await campaignProject(backend, { name: C });
      token = (await call(backend, 'annotators.add', { campaign: C, name: 'dana', link: true })).token ?? '';
    } finally {
      backend.close();
    }
    const started = await startStudioServer(projectDir, ['--port', '0', '--host', '127.0.0.1', '--campaign', C]);
    server = started.child;
    url = started.listening.url;
    ownerToken = started.listening.token;
    browser = await launchChromium();
    const annotator = await watchedPage(browser);
    const owner = await watchedPage(browser);
    annotatorPage = annotator.page;
    ownerPage = owner.page;
    errors.push(annotator.consoleErrors, owner.consoleErrors);
    ownerPage.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/events') {
        streams.push({ url: request.url(), authorization: request.headers().authorization });
      }
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await stopStudioServer(server);
    if (projectDir) await rm(projectDir, { recursive: true, force: true });
  });

  it('stops the link at its next request, says so on the rating page, and keeps the ratings given', async () => {
    // The annotator rates one item through their link.
    await annotatorPage.goto(`${url}#rate=${token}`);
    await annotatorPage.getByTestId('rating-item').waitFor();
    await annotatorPage.getByTestId('rating-guidelines').waitFor();
    await annotatorPage.keyboard.press('g');
    const first = await annotatorPage.getByTestId('rating-item').getAttribute('data-assignment');
    for (const key of ['1', 'q', 'Enter']) await annotatorPage.keyboard.press(key);
    await annotatorPage.locator(`[data-testid="rating-item"]:not([data-assignment="${first}"])`).waitFor();
    expect((await annotatorPage.getByTestId('rating-count').innerText()).trim()).toBe('1');

    // The owner revokes it from the campaign's Annotators panel.
    await ownerPage.goto(`${url}#token=${ownerToken}`);
    await ownerPage.getByTestId('nav-campaigns').waitFor();
    await ownerPage.goto(`${url}#/campaigns/${encodeURIComponent(C)}`);
    const row = ownerPage.locator('[data-testid="annotator-row"][data-annotator="dana"]');
    await row.waitFor();
    expect(await row.innerText()).toContain('personal link');
    const revoked = ownerPage.waitForResponse((r) => r.url().endsWith('/api/call/annotators.revoke'));
    await row.getByTestId('annotator-revoke').click();
    expect((await revoked).status()).toBe(200);
    const note = ownerPage.getByTestId('annotator-revoked');
    await note.waitFor();
    expect(await note.innerText()).toContain('The personal link of dana is revoked');
    // The row now says dana rates in this studio only, and offers no second revocation.
    await expect.poll(() => row.innerText()).toContain('this studio');
    expect(await row.getByTestId('annotator-revoke').count()).toBe(0);

    // The annotator's next submit is refused, and the page says why in words.
    const refused = annotatorPage.waitForResponse((r) => r.url().endsWith('/api/call/rating.submit'));
    for (const key of ['1', 'q', 'Enter']) await annotatorPage.keyboard.press(key);
    expect((await refused).status()).toBe(401);
    const message = annotatorPage.getByTestId('rating-link-revoked');
    await message.waitFor();
    const words = await message.innerText();
    expect(words).toContain('This link no longer works');
    expect(words).toContain('revoked');
    expect(words).toContain('The ratings you gave are kept');
    // Every rating method is closed to the token now.
    for (const method of ['rating.session', 'rating.next', 'rating.recent']) {
      expect((await callAs(url, token, method, {})).status, method).toBe(401);
    }
    // A reload on the same tab (the token in its sessionStorage) lands on the refusal too.
    await annotatorPage.reload();
    await annotatorPage.getByTestId('rating-failed').waitFor();
    expect(await annotatorPage.getByTestId('rating-failed').innerText()).toContain('revoked');

    // The rating given before stays, counted for dana, who is still a member.
    const summary = await ownerApi(url, ownerToken)('campaigns.get', { campaign: C });
    expect(summary.annotators.map((a) => [a.name, a.done, a.hasLink])).toEqual([['dana', 1, false]]);
  });

  it("reads the owner's event stream with the token in the Authorization header, never in the address", () => {
    expect(streams.length).toBeGreaterThan(0);
    for (const stream of streams) {
      expect(new URL(stream.url).search).toBe('');
      expect(stream.authorization).toBe(`Bearer ${ownerToken}`);
    }
  });

  it('logs no console errors beyond the refused requests', () => {
    for (const list of errors) {
      expect(list.filter((e) => !/401 \(Unauthorized\)/.test(e))).toEqual([]);
    }
  });
});
