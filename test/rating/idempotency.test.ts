/**
 * Exactly-once submits on the real backend (real SQLite file): an answer sent with an idempotency
 * key is stored once however often it is sent again, and every repeat is answered as the first was
 * (the same next item); the same key with other content is refused with a conflict that says so;
 * keys are per annotator, kept in the rating's own transaction, and a malformed key is refused.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { AppError } from '../../src/shared/contract';
import { call, jobOf, openBackend } from '../helpers/backend';
import { finished } from '../helpers/campaign';
import { useSuiteTempDir } from '../helpers/tempDir';

const C = 'keys';

describe('rating.submit with an idempotency key', () => {
  const dir = useSuiteTempDir('alol-idempotency-');
  let backend: Backend;
  let alice: number;
  let bob: number;

  beforeAll(async () => {
    backend = openBackend(dir());
    const file = join(dir(), 'pairs.jsonl');
    const lines = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({ prompt: `Question ${i}?`, chosen: `A good answer ${i}.`, rejected: `A poor answer ${i}.` }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    const imported = await jobOf(backend, () =>
      call(backend, 'imports.start', { source: { kind: 'path', path: file }, name: 'p' }),
    );
    expect(imported.status, imported.error?.message).toBe('succeeded');
    await finished(backend, () =>
      call(backend, 'campaigns.create', { name: C, pairs: { dataset: 'p' }, n: 12, overlap: 2, gold: 0, seed: 1 }),
    );
    alice = (await call(backend, 'annotators.add', { campaign: C, name: 'alice', link: false })).annotator.id;
    bob = (await call(backend, 'annotators.add', { campaign: C, name: 'bob', link: false })).annotator.id;
  }, 120_000);
  afterAll(() => backend.close());

  const ratingsOf = (annotator: number): Array<{ assignment_id: number; edits: number; helpful: string }> => {
    const db = new Database(join(dir(), 'studio.db'), { readonly: true });
    try {
      return db
        .prepare('SELECT assignment_id, edits, helpful FROM ratings WHERE annotator_id = ? ORDER BY assignment_id')
        .all(annotator) as never;
    } finally {
      db.close();
    }
  };

  it('stores a repeated submit once and answers every repeat with the same next item', async () => {
    const first = await call(backend, 'rating.next', { campaign: C, annotator: alice });
    const item = first.item!;
    const input = {
      campaign: C,
      annotator: alice,
      assignmentId: item.assignmentId,
      helpful: 'left',
      safe: 'right',
      activeMs: 700,
      idempotencyKey: 'k-alice-000000000001',
    } as const;
    const answer = await call(backend, 'rating.submit', input);
    expect(answer.next?.assignmentId).not.toBe(item.assignmentId);
    for (let i = 0; i < 3; i += 1) {
      const again = await call(backend, 'rating.submit', input);
      expect(again.next?.assignmentId).toBe(answer.next?.assignmentId);
      expect(again.progress.mine).toEqual(answer.progress.mine);
    }
    const stored = ratingsOf(alice);
    expect(stored).toHaveLength(1);
    // Not an edit of itself: the repeats changed nothing.
    expect(stored[0]).toMatchObject({ assignment_id: item.assignmentId, edits: 0 });
  });

  it('refuses the same key with other content (409 conflict), naming the key, and stores nothing of it', async () => {
    const { item } = await call(backend, 'rating.next', { campaign: C, annotator: alice });
    const key = 'k-alice-000000000002';
    await call(backend, 'rating.submit', {
      campaign: C,
      annotator: alice,
      assignmentId: item!.assignmentId,
      helpful: 'left',
      safe: 'left',
      activeMs: 10,
      idempotencyKey: key,
    });
    const before = ratingsOf(alice);
    const refused = await call(backend, 'rating.submit', {
      campaign: C,
      annotator: alice,
      assignmentId: item!.assignmentId,
      helpful: 'right',
      safe: 'left',
      activeMs: 10,
      idempotencyKey: key,
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining(`idempotency key ${key} was already used for another answer`),
    });
    expect(ratingsOf(alice)).toEqual(before);
  });

  it('keeps keys per annotator: another annotator may use the same key', async () => {
    const { item } = await call(backend, 'rating.next', { campaign: C, annotator: bob });
    const answer = await call(backend, 'rating.submit', {
      campaign: C,
      annotator: bob,
      assignmentId: item!.assignmentId,
      helpful: 'left',
      safe: 'left',
      activeMs: 10,
      idempotencyKey: 'k-alice-000000000001',
    });
    expect(answer.progress.mine.done).toBe(1);
    expect(ratingsOf(bob)).toHaveLength(1);
  });

  it('does not apply a repeat after the answer was taken back: the key was used', async () => {
    const { item } = await call(backend, 'rating.next', { campaign: C, annotator: bob });
    const input = {
      campaign: C,
      annotator: bob,
      assignmentId: item!.assignmentId,
      helpful: 'both_good',
      safe: 'left',
      activeMs: 10,
      idempotencyKey: 'k-bob-0000000000099',
    } as const;
    await call(backend, 'rating.submit', input);
    const undone = await call(backend, 'rating.undo', { campaign: C, annotator: bob });
    expect(undone.item?.assignmentId).toBe(item!.assignmentId);
    await call(backend, 'rating.submit', input);
    expect(ratingsOf(bob).map((r) => r.assignment_id)).not.toContain(item!.assignmentId);
  });

  it('refuses a malformed key', async () => {
    const { item } = await call(backend, 'rating.next', { campaign: C, annotator: bob });
    const refused = await call(backend, 'rating.submit', {
      campaign: C,
      annotator: bob,
      assignmentId: item!.assignmentId,
      skip: true,
      activeMs: 0,
      idempotencyKey: 'short',
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'invalid_input' });
  });

  it('keeps the keys in SQLite beside the ratings, one row per stored answer', () => {
    const db = new Database(join(dir(), 'studio.db'), { readonly: true });
    try {
      const keys = db
        .prepare('SELECT annotator_id, key, assignment_id FROM submit_keys ORDER BY annotator_id, key')
        .all();
      expect(keys).toHaveLength(4);
    } finally {
      db.close();
    }
  });
});
