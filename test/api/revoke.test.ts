/**
 * annotators.revoke through the real backend and `alol annotator revoke`: the link stops opening
 * anything (byToken, so the HTTP server's 401), the ratings given and the membership stay, a new
 * link lets them in again, and a name not in the campaign is refused.
 */
import { describe, expect, it } from 'vitest';
import { call, openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const C = 'revoke-c';

describe('annotators.revoke', () => {
  it('revokes a link from its next use, keeps the ratings, and is offered by the CLI', async () => {
    const project = tempDir();
    const backend = openBackend(project);
    let tokenB: string;
    try {
      await campaignProject(backend, { name: C, n: 4 });
      const added = await call(backend, 'annotators.add', { campaign: C, name: 'erin', link: true });
      const token = added.token ?? '';
      expect(backend.campaigns.byToken(token)).toEqual({ annotator: added.annotator.id, campaign: C });
      const who = { campaign: C, annotator: added.annotator.id };
      const item = (await call(backend, 'rating.next', who)).item;
      if (!item) throw new Error('no item to rate');
      await call(backend, 'rating.submit', {
        ...who,
        assignmentId: item.assignmentId,
        helpful: 'left',
        safe: 'left',
        activeMs: 100,
      });

      expect(await call(backend, 'annotators.revoke', { campaign: C, name: 'erin' })).toEqual({
        annotator: { id: added.annotator.id, name: 'erin' },
        revoked: true,
      });
      expect(backend.campaigns.byToken(token)).toBeNull();
      const erin = (await call(backend, 'campaigns.get', { campaign: C })).annotators.find((a) => a.name === 'erin');
      expect(erin).toMatchObject({ done: 1, hasLink: false });
      // Again: nothing left to revoke. Someone not in the campaign, or no such campaign: refused.
      expect((await call(backend, 'annotators.revoke', { campaign: C, name: 'erin' })).revoked).toBe(false);
      expect(await backend.dispatch('annotators.revoke', { campaign: C, name: 'mallory' })).toMatchObject({
        ok: false,
        error: { code: 'not_found', message: `"mallory" is not an annotator of campaign "${C}"` },
      });
      expect(await backend.dispatch('annotators.revoke', { campaign: 'nope', name: 'erin' })).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });
      // A new link lets them in again, where they were.
      const again = await call(backend, 'annotators.add', { campaign: C, name: 'erin', link: true });
      expect(backend.campaigns.byToken(again.token ?? '')).toEqual({ annotator: added.annotator.id, campaign: C });
      tokenB = again.token ?? '';
    } finally {
      backend.close();
    }

    const run = alol(['annotator', 'revoke', 'erin', '--campaign', C, '--project', project]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Revoked the personal link of "erin"');
    const json = alol(['annotator', 'revoke', 'erin', '--campaign', C, '--project', project, '--json']);
    expect(json.json()).toMatchObject({ annotator: { name: 'erin' }, campaign: C, revoked: false });
    const unknown = alol(['annotator', 'revoke', 'mallory', '--campaign', C, '--project', project]);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain('"mallory" is not an annotator');
    const missing = alol(['annotator', 'revoke', 'erin', '--project', project]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('--campaign');

    const reopened = openBackend(project);
    try {
      expect(reopened.campaigns.byToken(tokenB)).toBeNull();
      expect((await call(reopened, 'campaigns.get', { campaign: C })).done).toBe(1);
    } finally {
      reopened.close();
    }
  });

  it("puts a revoked annotator's unanswered item back in the pool, so another can rate it", async () => {
    const backend = openBackend(tempDir());
    try {
      // Two items, one annotator each: an item someone holds is nobody else's.
      await campaignProject(backend, { name: 'held', n: 2, overlap: 1, gold: 0, repeatSwapped: 0 });
      const add = async (name: string) =>
        (await call(backend, 'annotators.add', { campaign: 'held', name, link: true })).annotator.id;
      const erin = { campaign: 'held', annotator: await add('erin') };
      const frank = { campaign: 'held', annotator: await add('frank') };
      const held = (await call(backend, 'rating.next', erin)).item;
      const other = (await call(backend, 'rating.next', frank)).item;
      if (!held || !other) throw new Error('two items to rate');
      const answer = { helpful: 'left', safe: 'left', activeMs: 100 } as const;
      const after = await call(backend, 'rating.submit', { ...frank, assignmentId: other.assignmentId, ...answer });
      // Erin holds the last item: nothing for frank while her link lives.
      expect(after.next).toBeNull();
      expect((await call(backend, 'rating.next', frank)).item).toBeNull();

      await call(backend, 'annotators.revoke', { campaign: 'held', name: 'erin' });
      const freed = (await call(backend, 'rating.next', frank)).item;
      expect(freed?.prompt).toBe(held.prompt);
      await call(backend, 'rating.submit', { ...frank, assignmentId: freed?.assignmentId ?? 0, ...answer });
      const campaign = await call(backend, 'campaigns.get', { campaign: 'held' });
      expect(campaign.annotators.find((a) => a.name === 'frank')).toMatchObject({ done: 2 });
      expect(campaign.annotators.find((a) => a.name === 'erin')).toMatchObject({ done: 0, hasLink: false });
      // Her old assignment is gone, not hers to answer: a new link finds nothing left to rate.
      const refused = await backend.dispatch('rating.submit', { ...erin, assignmentId: held.assignmentId, ...answer });
      expect(refused.ok).toBe(false);
      await add('erin');
      expect((await call(backend, 'rating.next', erin)).item).toBeNull();
    } finally {
      backend.close();
    }
  });
});
