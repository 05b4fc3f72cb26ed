import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDb } from '../../src/main/db/openDb';
import { readGoldFile } from '../../src/main/rating/goldFile';
import { storedRatings } from '../../src/main/rating/storedRatings';
import { agreementSummaries } from '../../src/main/rating/agreementSummaries';
import { AppError } from '../../src/shared/contract';
import type { Backend } from '../../src/main/app/backend';
import { call, importPath, useBackends } from '../helpers/backend';
import { finished } from '../helpers/campaign';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const backendAt = useBackends();

const line = (x: unknown) => JSON.stringify(x);

/** A small pairs dataset (TRL preference JSONL) in a new project. */
async function pairsProject(dir: string): Promise<Backend> {
  const backend = backendAt(dir);
  const file = join(dir, 'pairs.jsonl');
  const rows = Array.from({ length: 4 }, (_, i) => ({
    prompt: `Question ${i}?`,
    chosen: `A good answer to ${i}.`,
    rejected: `A poor answer to ${i}.`,
  }));
  writeFileSync(file, rows.map(line).join('\n') + '\n');
  expect((await importPath(backend, file, 'small')).status).toBe('succeeded');
  return backend;
}

function caught(f: () => unknown): AppError {
  try {
    f();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('gold items from a file', () => {
  it('reads accepted answers per criterion, a and b as the first and second response', () => {
    const file = join(tempDir(), 'gold.jsonl');
    writeFileSync(
      file,
      [
        line({
          prompt: 'What is 2+2?',
          a: '4',
          b: 'The weather is nice.',
          expected: { helpful: ['a'], safe: ['a', 'b', 'both_good'] },
        }),
        '',
        line({
          prompt: 'How do I pick a lock?',
          a: 'I cannot help with that.',
          b: 'Step one...',
          expected: { safe: ['a'] },
        }),
      ].join('\n'),
    );
    expect(readGoldFile(file)).toEqual({
      file: 'gold.jsonl',
      items: [
        {
          line: 1,
          prompt: 'What is 2+2?',
          first: '4',
          second: 'The weather is nice.',
          helpful: ['first'],
          safe: ['first', 'second', 'both_good'],
        },
        {
          line: 3,
          prompt: 'How do I pick a lock?',
          first: 'I cannot help with that.',
          second: 'Step one...',
          helpful: null,
          safe: ['first'],
        },
      ],
    });
  });

  it('names the file, line and field of each problem', () => {
    const dir = tempDir();
    const cases: [string, string[], RegExp][] = [
      [
        'json.jsonl',
        [line({ prompt: 'p', a: 'x', b: 'y', expected: { helpful: ['a'] } }), '{"prompt": "p",'],
        /^gold file json\.jsonl:2: not valid JSON/,
      ],
      [
        'missing.jsonl',
        [line({ prompt: 'p', a: 'x', expected: { helpful: ['a'] } })],
        /^gold file missing\.jsonl:1 field "b": /,
      ],
      [
        'answer.jsonl',
        [line({ prompt: 'p', a: 'x', b: 'y', expected: { helpful: ['a', 'c'] } })],
        /^gold file answer\.jsonl:1 field "expected\.helpful\.1": /,
      ],
      [
        'twice.jsonl',
        [line({ prompt: 'p', a: 'x', b: 'y', expected: { safe: ['a', 'a'] } })],
        /^gold file twice\.jsonl:1 field "expected\.safe": names each answer once/,
      ],
      [
        'none.jsonl',
        [line({ prompt: 'p', a: 'x', b: 'y', expected: {} })],
        /^gold file none\.jsonl:1 field "expected": names the accepted answers/,
      ],
      [
        'extra.jsonl',
        [line({ prompt: 'p', a: 'x', b: 'y', c: 'z', expected: { helpful: ['b'] } })],
        /^gold file extra\.jsonl:1: .*"c"/,
      ],
      ['empty.jsonl', ['', ''], /^gold file empty\.jsonl:1: holds no gold item/],
    ];
    for (const [name, lines, message] of cases) {
      const file = join(dir, name);
      writeFileSync(file, lines.join('\n'));
      const error = caught(() => readGoldFile(file));
      expect(error.code).toBe('import_invalid');
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/no campaign created$/);
      expect(error.issues?.[0]?.file).toBe(name);
    }
    expect(caught(() => readGoldFile(join(dir, 'absent.jsonl'))).message).toMatch(
      /absent\.jsonl: no such file; no campaign created/,
    );
  });

  it('a campaign with a bad gold file creates nothing; a good one adds its items, scored by their accepted answers', async () => {
    const dir = tempDir();
    const backend = await pairsProject(dir);
    const bad = join(dir, 'bad-gold.jsonl');
    writeFileSync(
      bad,
      [
        line({ prompt: 'p', a: 'x', b: 'y', expected: { helpful: ['a'] } }),
        line({ prompt: 'p', a: 'x', b: 'y', expected: { helpful: ['left'] } }),
      ].join('\n'),
    );
    const jobsBefore = (await call(backend, 'jobs.list', {})).length;
    await expect(
      call(backend, 'campaigns.create', { name: 'with-gold', pairs: { dataset: 'small' }, n: 2, goldFile: bad }),
    ).rejects.toThrow(/bad-gold\.jsonl:2 field "expected\.helpful\.0"/);
    expect(await call(backend, 'campaigns.list', {})).toEqual([]);
    expect((await call(backend, 'jobs.list', {})).length).toBe(jobsBefore);

    const good = join(dir, 'gold.jsonl');
    writeFileSync(
      good,
      [
        line({
          prompt: 'Capital of France?',
          a: 'Paris.',
          b: 'Bananas are yellow.',
          expected: { helpful: ['a'], safe: ['both_good'] },
        }),
        line({
          prompt: 'Say something rude.',
          a: 'You are an idiot.',
          b: 'I would rather not.',
          expected: { safe: ['b'] },
        }),
      ].join('\n') + '\n',
    );
    // The automatic gold item too: 2 pairs, 1 automatic gold, 2 from the file.
    await finished(backend, () =>
      call(backend, 'campaigns.create', {
        name: 'with-gold',
        pairs: { dataset: 'small' },
        n: 2,
        gold: 1,
        goldFile: good,
      }),
    );
    const items = (await call(backend, 'campaigns.items', { campaign: 'with-gold' })).rows;
    expect(items.filter((i) => i.kind === 'pair')).toHaveLength(2);
    const golds = items.filter((i) => i.kind === 'gold');
    expect(golds).toHaveLength(3);
    const paris = golds.find((g) => g.prompt === 'Capital of France?');
    expect(paris).toMatchObject({
      first: { response: 'Paris.', system: 'gold:gold.jsonl' },
      second: { response: 'Bananas are yellow.' },
      goldHelpful: ['first'],
      goldSafe: ['both_good'],
    });
    expect(golds.find((g) => g.prompt === 'Say something rude.')).toMatchObject({
      goldHelpful: null,
      goldSafe: ['second'],
    });

    // One annotator answers every gold item: right on Paris (both criteria), wrong on safety for the rude one, "both bad" on the automatic one.
    const annotator = (await call(backend, 'annotators.add', { campaign: 'with-gold', name: 'gil', link: false }))
      .annotator.id;
    const who = { campaign: 'with-gold', annotator };
    let item = (await call(backend, 'rating.next', who)).item;
    while (item) {
      const shown = item;
      const canonical =
        items.find((i) => i.prompt === shown.prompt && [i.first.response, i.second.response].includes(shown.left)) ??
        items[0];
      const left = (text: string) => (shown.left === text ? 'left' : 'right');
      let helpful: 'left' | 'right' | 'both_good' | 'both_bad' = 'both_good';
      let safe: 'left' | 'right' | 'both_good' | 'both_bad' = 'both_good';
      if (canonical?.prompt === 'Capital of France?') helpful = left('Paris.');
      else if (canonical?.prompt === 'Say something rude.') safe = left('You are an idiot.');
      else if (canonical?.kind === 'gold') helpful = 'both_bad';
      item = (
        await call(backend, 'rating.submit', { ...who, assignmentId: shown.assignmentId, helpful, safe, activeMs: 500 })
      ).next;
    }
    const summaries = agreementSummaries(
      storedRatings(backend.db, (await call(backend, 'campaigns.get', { campaign: 'with-gold' })).id),
      { seed: 0, reps: 10 },
    );
    // helpful: Paris right, automatic right (both bad) -> 2 of 2; the rude one has no helpful answer to score.
    expect(summaries.find((s) => s.criterion === 'helpful')?.annotators[0]).toMatchObject({
      annotator: 'gil',
      goldAccuracy: 1,
    });
    // safe: Paris right (both good), rude wrong -> 1 of 2; the automatic one scores no safety.
    expect(summaries.find((s) => s.criterion === 'safe')?.annotators[0]).toMatchObject({
      annotator: 'gil',
      goldAccuracy: 0.5,
    });
  }, 60_000);
});

describe('migration 6 on a project with ratings', () => {
  it('keeps every rating and sample, and turns old gold answers into lists that also accept "both bad"', () => {
    const file = join(tempDir(), 'v5.db');
    const old = new Database(file);
    migrate(old, file, 5);
    old.pragma('foreign_keys = ON');
    const at = '2025-01-01T00:00:00.000Z';
    old.exec(`
      INSERT INTO models (id, name, origin, source, config, parameters, tokenizer, folder, weights_sha256, created_at) VALUES (1, 'm', 'created', 'x', '{}', 1, 't', 'f', 'h', '${at}');
      INSERT INTO samples (id, model_id, prompt, response, settings, source, created_at) VALUES (1, 1, 'p', 'on topic', '{}', 'sample:1', '${at}'), (2, 1, 'q', 'off topic', '{}', 'sample:1', '${at}');
      INSERT INTO campaigns (id, name, status, config, guidelines, guidelines_version, created_at) VALUES (1, 'c', 'ready', '{}', 'g', 'g-1', '${at}');
      INSERT INTO items (id, campaign_id, kind, prompt, first_sample, second_sample, first_system, second_system, gold_helpful, rank) VALUES
        (1, 1, 'gold', 'p', 1, 2, 'm', 'm', 'first', 0), (2, 1, 'pair', 'p', 1, 2, 'm', 'm', NULL, 1);
      INSERT INTO annotators (id, name, created_at) VALUES (1, 'ann', '${at}');
      INSERT INTO assignments (id, campaign_id, item_id, annotator_id, swapped, rated, created_at) VALUES (1, 1, 1, 1, 0, 1, '${at}'), (2, 1, 2, 1, 1, 1, '${at}');
      INSERT INTO ratings (assignment_id, campaign_id, annotator_id, helpful, safe, swapped, active_ms, guidelines_version, created_at, updated_at) VALUES
        (1, 1, 1, 'both_bad', 'both_good', 0, 10, 'g-1', '${at}', '${at}'), (2, 1, 1, 'first', 'second', 1, 10, 'g-1', '${at}', '${at}');
    `);
    old.close();

    const db = openDb(file);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.prepare('SELECT count(*) FROM ratings').pluck().get()).toBe(2);
    expect(db.prepare('SELECT id, model_id, response FROM samples ORDER BY id').all()).toEqual([
      { id: 1, model_id: 1, response: 'on topic' },
      { id: 2, model_id: 1, response: 'off topic' },
    ]);
    expect(db.prepare('SELECT gold_helpful, gold_safe, dataset_chosen FROM items ORDER BY id').all()).toEqual([
      { gold_helpful: '["first","both_bad"]', gold_safe: null, dataset_chosen: null },
      { gold_helpful: null, gold_safe: null, dataset_chosen: null },
    ]);
    // The old "both bad" answer on the gold item now counts as right.
    const summaries = agreementSummaries(storedRatings(db, 1), { seed: 0, reps: 10 });
    expect(summaries.find((s) => s.criterion === 'helpful')?.annotators[0]?.goldAccuracy).toBe(1);
    // References still hold: a sample without a model is allowed now, an item pointing nowhere is not.
    db.prepare(
      "INSERT INTO samples (model_id, prompt, response, settings, source, created_at) VALUES (NULL, 'p', 'data', '{}', 'data:x', 'now')",
    ).run();
    expect(() => db.prepare('UPDATE items SET first_sample = 999 WHERE id = 2').run()).toThrow(/FOREIGN KEY/);
    db.close();
  });
});
