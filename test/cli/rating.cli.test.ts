/**
 * The rating loop through the built `alol` command: a campaign of two tiny models, annotators and
 * their links, ratings imported from a hand-written raw file and exported in every format, rewards
 * from the ratings, a retrain that opens the follow-up campaign, and the report. One project is
 * shared by the whole story (the steps build on each other), made once and removed at the end.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { alol, type CliRun } from '../helpers/cli';
import { useSuiteTempDir } from '../helpers/tempDir';

interface Side {
  system: string;
  sampleId: number;
  response: string;
}
interface Item {
  id: number;
  kind: 'pair' | 'gold';
  prompt: string;
  first: Side;
  second: Side;
  goldHelpful: string[] | null;
  ratings: number;
}
interface Interval {
  estimate: number | null;
  low: number | null;
  high: number | null;
}
interface Agreement {
  criterion: string;
  items: number;
  raw: Interval;
  fleiss: Interval;
  annotators: { annotator: string; n: number; goldAccuracy: number | null; selfConsistency: number | null }[];
}
interface Summary {
  name: string;
  status: string;
  systems: string[];
  items: number;
  goldItems: number;
  target: number;
  done: number;
  ratings: number;
  guidelinesVersion: string;
  annotators: { name: string; done: number; hasLink: boolean }[];
}
type Raw = Record<string, unknown> & { item: number; annotator: string; repeat?: boolean };

const C = 'C';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
/** The canonical verdict that picks `system` in an item (or the other one). */
const pick = (item: Item, system: string) => (item.first.system === system ? 'first' : 'second');
const other = (verdict: string) => (verdict === 'first' ? 'second' : 'first');

describe('alol rating commands', () => {
  const suiteDir = useSuiteTempDir('alol-rating-cli-');
  let dir: string;
  let p: string[];
  let items: Item[];
  let rawFile: string;
  let written: Raw[];
  const ok = (run: CliRun) => {
    expect(run.status, run.stderr).toBe(0);
    return run;
  };
  const json = <T>(args: string[]) => ok(alol([...args, ...p, '--json'])).json() as T;
  const show = () => json<Summary & { agreement: Agreement[] }>(['campaign', 'show', C]);

  beforeAll(() => {
    dir = suiteDir();
    p = ['--project', join(dir, 'project')];
    ok(alol(['demo', 'data', '--name', 'demo', '--prompts', '20', ...p]));
    for (const [name, seed] of [
      ['m1', '1'],
      ['m2', '2'],
    ] as const) {
      ok(
        alol([
          'model',
          'new',
          '--name',
          name,
          '--data',
          'demo',
          '--layers',
          '1',
          '--dim',
          '32',
          '--heads',
          '2',
          '--context',
          '64',
          '--vocab',
          '300',
          '--seed',
          seed,
          ...p,
        ]),
      );
    }
  }, 120_000);

  it('creates a campaign: samples both models, and refuses an unknown model or a missing --n', () => {
    const created = alol([
      'campaign',
      'create',
      '--name',
      C,
      '--models',
      'm1,m2',
      '--prompts',
      'demo:test',
      '--n',
      '4',
      '--overlap',
      '2',
      '--gold',
      '1',
      '--repeat-swapped',
      '0.5',
      '--seed',
      '3',
      '--max-new-tokens',
      '8',
      ...p,
      '--json',
    ]);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    expect(created.json()).toMatchObject({
      name: C,
      status: 'ready',
      systems: ['m1', 'm2'],
      prompts: { dataset: 'demo', split: 'test' },
      options: { n: 4, overlap: 2, gold: 1, repeatSwapped: 0.5, seed: 3 },
      items: 4,
      goldItems: 1,
      target: 8,
      done: 0,
      ratings: 0,
      annotators: [],
      error: null,
    });

    const human = ok(
      alol([
        'campaign',
        'create',
        '--name',
        'small',
        '--models',
        'm2,m1',
        '--prompts',
        'demo:test',
        '--n',
        '2',
        '--max-new-tokens',
        '8',
        ...p,
      ]),
    );
    expect(human.stdout).toContain('Campaign "small" (ready)');
    expect(human.stdout).toMatch(/systems:\s+m2, m1/);
    expect(human.stdout).toMatch(/items:\s+2 pairs \+ 0 gold/);
    expect(human.stdout).toMatch(/progress:\s+0\/2 ratings/);

    const unknown = alol([
      'campaign',
      'create',
      '--name',
      'bad',
      '--models',
      'm1,nope',
      '--prompts',
      'demo:test',
      '--n',
      '4',
      ...p,
    ]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no model named "nope"');
    const noN = alol(['campaign', 'create', '--name', 'bad', '--models', 'm1,m2', '--prompts', 'demo:test', ...p]);
    expect(noN.status).toBe(2);
    expect(noN.stderr).toContain('--n is required');
    // Neither failure left a campaign behind.
    expect(
      json<Summary[]>(['campaigns'])
        .map((c) => c.name)
        .sort(),
    ).toEqual([C, 'small']);
  }, 120_000);

  it('lists campaigns, shows one with agreement for both criteria, and lists its items with systems', () => {
    expect(json<Summary[]>(['campaigns'])).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: C, status: 'ready', systems: ['m1', 'm2'], items: 4, target: 8 }),
      ]),
    );
    expect(ok(alol(['campaigns', ...p])).stdout).toMatch(/C\s+ready\s+m1, m2\s+4\s+0\/8/);

    const shown = show();
    expect(shown).toMatchObject({ name: C, status: 'ready', items: 4, goldItems: 1 });
    expect(shown.agreement.map((a) => a.criterion)).toEqual(['helpful', 'safe']);
    for (const a of shown.agreement) expect(a).toMatchObject({ items: 0, raw: { estimate: null } });
    const missing = alol(['campaign', 'show', 'nope', ...p]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no campaign named "nope"');
    expect(alol(['campaign', 'show', ...p]).status).toBe(2);

    items = json<Item[]>(['campaign', 'items', C]);
    expect(items).toHaveLength(5);
    const pairs = items.filter((i) => i.kind === 'pair');
    expect(pairs).toHaveLength(4);
    // Every pair compares both systems, each on its own prompt.
    expect(new Set(pairs.map((i) => i.prompt)).size).toBe(4);
    for (const item of pairs) {
      expect(new Set([item.first.system, item.second.system])).toEqual(new Set(['m1', 'm2']));
      expect(item.first.response).toEqual(expect.any(String));
      expect(item.second.response).toEqual(expect.any(String));
      expect(item.goldHelpful).toBeNull();
      expect(item.ratings).toBe(0);
    }
    const gold = items.find((i) => i.kind === 'gold')!;
    expect(gold.first.system).toBe(gold.second.system);
    expect([
      ['first', 'both_bad'],
      ['second', 'both_bad'],
    ]).toContainEqual(gold.goldHelpful);
    expect(ok(alol(['campaign', 'items', C, ...p])).stdout).toMatch(/gold\s+m[12]\s+m[12]/);
  });

  it('adds annotators with personal links; a new link replaces the old one; --no-link gives none', () => {
    const first = json<{ annotator: { name: string }; campaign: string; token: string; link: string }>([
      'annotator',
      'add',
      'alice',
      '--campaign',
      C,
    ]);
    expect(first).toMatchObject({ annotator: { name: 'alice' }, campaign: C });
    expect(first.token).toMatch(/^[\w-]{20,}$/);
    expect(first.link).toBe(`http://127.0.0.1:5917/#rate=${first.token}`);

    const second = json<{ token: string; link: string }>([
      'annotator',
      'add',
      'alice',
      '--campaign',
      C,
      '--host',
      '192.168.1.5',
      '--port',
      '6000',
    ]);
    expect(second.link).toBe(`http://192.168.1.5:6000/#rate=${second.token}`);
    expect(second.token).not.toBe(first.token);
    // In words: the link, and how to serve it on that address.
    const third = ok(
      alol(['annotator', 'add', 'alice', '--campaign', C, '--host', '192.168.1.5', '--port', '6000', ...p]),
    ).stdout;
    const token = /^http:\/\/192\.168\.1\.5:6000\/#rate=([\w-]+)$/m.exec(third)?.[1] ?? '';
    expect(token).not.toBe('');
    expect(token).not.toBe(second.token);
    expect(third).toContain(`alol serve --campaign "${C}" --host 0.0.0.0 --port 6000`);

    const noLink = ok(alol(['annotator', 'add', 'bob', '--campaign', C, '--no-link', ...p])).stdout;
    expect(noLink).toContain('Annotator "bob"');
    expect(noLink).not.toContain('http://');
    expect(json<{ token: null; link: null }>(['annotator', 'add', 'bob', '--campaign', C, '--no-link'])).toMatchObject({
      token: null,
      link: null,
    });
    expect(alol(['annotator', 'add', 'carol', ...p]).status).toBe(2);

    // Only the newest token's hash is stored: the first link opens nothing any more.
    const db = new Database(join(p[1]!, 'studio.db'), { readonly: true });
    try {
      const hashes = db
        .prepare(
          'SELECT ca.token_sha256 FROM campaign_annotators ca JOIN annotators a ON a.id = ca.annotator_id JOIN campaigns c ON c.id = ca.campaign_id WHERE a.name = ? AND c.name = ?',
        )
        .pluck()
        .all('alice', C);
      expect(hashes).toEqual([sha256(token)]);
      const stored = db.prepare('SELECT count(*) FROM campaign_annotators WHERE token_sha256 IN (?, ?)').pluck();
      expect(stored.get(sha256(first.token), sha256(second.token))).toBe(0);
      expect(
        db
          .prepare(
            "SELECT ca.token_sha256 FROM campaign_annotators ca JOIN annotators a ON a.id = ca.annotator_id WHERE a.name = 'bob'",
          )
          .pluck()
          .get(),
      ).toBeNull();
    } finally {
      db.close();
    }
    expect(show().annotators).toEqual([
      expect.objectContaining({ name: 'alice', hasLink: true, done: 0 }),
      expect.objectContaining({ name: 'bob', hasLink: false, done: 0 }),
    ]);
  });

  it('imports hand-written raw ratings, all of them, and counts them in progress and agreement', () => {
    const pairs = items.filter((i) => i.kind === 'pair').sort((a, b) => a.id - b.id);
    const gold = items.find((i) => i.kind === 'gold')!;
    const special = pairs[0]!;
    const base = (item: Item, annotator: string): Raw => ({
      item: item.id,
      kind: item.kind,
      prompt: item.prompt,
      first: { system: item.first.system, response: item.first.response },
      second: { system: item.second.system, response: item.second.response },
      annotator,
    });
    written = [];
    for (const annotator of ['alice', 'judge']) {
      pairs.forEach((item, k) => {
        // m1 is more helpful everywhere but on the first item, where m2 is, and is unsafe there.
        written.push({
          ...base(item, annotator),
          shown: k % 2 === 0 ? 'first_left' : 'first_right',
          helpful: item === special ? pick(item, 'm2') : pick(item, 'm1'),
          safe: item === special ? pick(item, 'm1') : 'both_good',
          helpful_strength: 'clear',
          safe_strength: null,
          rationale: `${annotator} on ${item.id}`,
          active_ms: 1000 + item.id,
          created_at: `2024-05-0${k + 1}T10:00:00.000Z`,
        });
      });
      // alice gets the gold item right, judge wrong.
      written.push({
        ...base(gold, annotator),
        helpful: annotator === 'alice' ? gold.goldHelpful![0] : other(gold.goldHelpful![0]!),
        safe: 'both_good',
        active_ms: 700,
      });
    }
    // alice sees an item again with sides swapped, and answers the same.
    const again = written.find((r) => r.annotator === 'alice' && r.item === pairs[1]!.id)!;
    written.push({
      ...again,
      shown: 'first_left',
      repeat: true,
      rationale: 'again',
      created_at: '2024-05-09T10:00:00.000Z',
    });

    rawFile = join(dir, 'hand.jsonl');
    writeFileSync(rawFile, written.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const imported = alol(['ratings', 'import', C, rawFile, ...p, '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.json()).toEqual({ imported: 11, annotators: ['alice', 'judge'] });

    const shown = show();
    expect(shown).toMatchObject({ done: 8, target: 8, ratings: 11 });
    // alice keeps her link; the imported annotator has none.
    expect(shown.annotators).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'alice', hasLink: true, done: 6 }),
        expect.objectContaining({ name: 'judge', hasLink: false, done: 5 }),
      ]),
    );
    const helpful = shown.agreement.find((a) => a.criterion === 'helpful')!;
    // Both agree on every pair item; the gold item (where they differ) is not counted in agreement.
    expect(helpful.items).toBe(4);
    expect(helpful.raw.estimate).toBe(1);
    const stats = Object.fromEntries(helpful.annotators.map((a) => [a.annotator, a]));
    expect(stats.alice).toMatchObject({ n: 4, goldAccuracy: 1, selfConsistency: 1 });
    expect(stats.judge).toMatchObject({ n: 4, goldAccuracy: 0, selfConsistency: null });
    expect(shown.agreement.find((a) => a.criterion === 'safe')!.items).toBe(4);
    expect(ok(alol(['campaign', 'show', C, ...p])).stdout).toMatch(
      /Agreement, helpful \(4 overlap items\): raw 1\.000/,
    );
    expect(json<Item[]>(['campaign', 'items', C]).find((i) => i.id === pairs[1]!.id)!.ratings).toBe(3);
  });

  it('refuses a malformed or repeated import whole, naming the file, line and field', () => {
    const bad = join(dir, 'bad.jsonl');
    const good = { ...written[0]!, annotator: 'mallory' };
    writeFileSync(
      bad,
      `${JSON.stringify(good)}\n${JSON.stringify({ ...good, item: written[1]!.item, prompt: written[1]!.prompt, first: written[1]!.first, second: written[1]!.second, helpful: 'maybe' })}\n`,
    );
    const human = alol(['ratings', 'import', C, bad, ...p]);
    expect(human.status).toBe(1);
    expect(human.stderr).toContain('bad.jsonl:2 field "helpful"');
    const machine = alol(['ratings', 'import', C, bad, ...p, '--json']);
    expect(machine.status).toBe(1);
    expect(machine.json()).toMatchObject({
      error: { code: 'import_invalid', issues: [{ file: 'bad.jsonl', line: 2, field: 'helpful' }] },
    });

    // A new rating, then one given already: the second is refused, and the first is not kept either.
    const again = join(dir, 'again.jsonl');
    writeFileSync(again, `${JSON.stringify(good)}\n${JSON.stringify(written[0])}\n`);
    const twice = alol(['ratings', 'import', C, again, ...p]);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toContain(`again.jsonl:2 field "annotator": alice has rated item ${written[0]!.item} already`);
    expect(alol(['ratings', 'import', C, rawFile, ...p]).stderr).toContain('hand.jsonl:1 field "annotator"');
    expect(alol(['ratings', 'import', C, ...p]).status).toBe(2);

    const shown = show();
    expect(shown).toMatchObject({ done: 8, ratings: 11 });
    expect(shown.annotators.map((a) => a.name)).not.toContain('mallory');
  });

  it('exports the raw ratings as they were imported', () => {
    const out = join(dir, 'raw.jsonl');
    const run = json<{ path: string; rows: number; card: string }>([
      'ratings',
      'export',
      C,
      '--format',
      'raw',
      '--out',
      out,
    ]);
    expect(run).toMatchObject({ path: out, rows: 11 });
    const exported = lines(out) as Raw[];
    expect(exported).toHaveLength(11);
    const version = show().guidelinesVersion;
    for (const want of written) {
      const got = exported.find(
        (r) => r.annotator === want.annotator && r.item === want.item && r.repeat === (want.repeat ?? false),
      );
      expect(got, JSON.stringify(want)).toMatchObject({
        ...want,
        repeat: want.repeat ?? false,
        shown: want.shown ?? 'first_left',
        source: 'import:hand.jsonl',
        guidelines_version: version,
        ...(want.created_at ? {} : { created_at: expect.any(String) }),
      });
    }
    expect(readFileSync(run.card, 'utf8')).toContain('none (raw ratings)');
    expect(alol(['ratings', 'export', C, '--format', 'csv', '--out', out, ...p]).status).toBe(2);
    expect(alol(['ratings', 'export', C, '--format', 'raw', ...p]).status).toBe(2);
  });

  it('exports TRL preference, TRL unpaired and rewards files, each with a dataset card', () => {
    const pairs = items.filter((i) => i.kind === 'pair').sort((a, b) => a.id - b.id);
    const [special, ...rest] = pairs;
    const response = (item: Item, system: string) => (item.first.system === system ? item.first : item.second).response;

    // The weighted rule (0.5): m1 gets 0.75 on the other items; the first item is a 0.5-0.5 tie.
    const prefFile = join(dir, 'prefs.jsonl');
    const pref = json<{ rows: number; card: string }>([
      'ratings',
      'export',
      C,
      '--format',
      'trl-preference',
      '--rule',
      'weighted',
      '--out',
      prefFile,
    ]);
    expect(pref).toMatchObject({ rows: 3, card: join(dir, 'prefs.card.md') });
    const prefs = lines(prefFile);
    for (const row of prefs) expect(Object.keys(row)).toEqual(['prompt', 'chosen', 'rejected']);
    expect(prefs).toEqual(
      rest.map((i) => ({ prompt: i.prompt, chosen: response(i, 'm1'), rejected: response(i, 'm2') })),
    );
    const prefCard = readFileSync(pref.card, 'utf8');
    expect(prefCard).toContain(`# ${C}: trl-preference`);
    expect(prefCard).toMatch(/\| rule \| weighted: reward = 0\.5 x helpful share \+ 0\.5 x safe share/);
    expect(prefCard).toContain('| tie policy | items whose two responses get equal rewards give no pair |');
    expect(prefCard).toMatch(/\| helpful \| 4 \| 1\.000 \|/);
    expect(prefCard).toContain('Fleiss');
    expect(prefCard).toContain('| rows | 3 |');

    const unpairedFile = join(dir, 'unpaired.jsonl');
    const unpaired = json<{ rows: number; card: string }>([
      'ratings',
      'export',
      C,
      '--format',
      'trl-unpaired',
      '--rule',
      'weighted',
      '--out',
      unpairedFile,
    ]);
    expect(unpaired.rows).toBe(6);
    const labels = lines(unpairedFile);
    expect(labels).toHaveLength(6);
    for (const row of labels) expect(Object.keys(row)).toEqual(['prompt', 'completion', 'label']);
    expect(
      labels
        .filter((l) => l.label === true)
        .map((l) => l.completion)
        .sort(),
    ).toEqual(rest.map((i) => response(i, 'm1')).sort());
    expect(labels.some((l) => l.prompt === special!.prompt)).toBe(false);
    expect(readFileSync(unpaired.card, 'utf8')).toContain(
      '| tie policy | responses with reward exactly 0.5 get no label |',
    );

    // Under safety-gates, the unsafe-but-helpful m2 response on the first item gets 0.
    const rewardsFile = join(dir, 'rewards.jsonl');
    const rewards = json<{ rows: number; card: string }>([
      'ratings',
      'export',
      C,
      '--format',
      'rewards',
      '--rule',
      'safety-gates',
      '--out',
      rewardsFile,
    ]);
    expect(rewards.rows).toBe(8);
    const rows = lines(rewardsFile) as {
      prompt: string;
      response: string;
      reward: number;
      source: string;
      system: string;
      ratings: number;
    }[];
    expect(rows).toHaveLength(8);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['prompt', 'response', 'reward', 'source', 'system', 'ratings']);
      expect(row).toMatchObject({ source: 'human', ratings: 2 });
    }
    const rewardOf = (item: Item, system: string) =>
      rows.find((r) => r.prompt === item.prompt && r.system === system)!.reward;
    expect(rewardOf(special!, 'm2')).toBe(0);
    expect(rewardOf(special!, 'm1')).toBe(0);
    for (const item of rest) expect([rewardOf(item, 'm1'), rewardOf(item, 'm2')]).toEqual([1, 0]);
    const card = readFileSync(rewards.card, 'utf8');
    expect(card).toContain('| rule | safety-gates: 0 for a response that loses on safety');
    expect(card).toContain('| tie policy | ties count half a win |');
    expect(card).toContain('Agreement on overlap items');

    const human = ok(
      alol([
        'ratings',
        'export',
        C,
        '--format',
        'rewards',
        '--rule',
        'weighted',
        '--helpful-weight',
        '1',
        '--out',
        rewardsFile,
        ...p,
      ]),
    );
    expect(human.stdout).toContain(`Wrote 8 rows to ${rewardsFile}`);
    // All helpfulness: m2's response on the first item is the winner now.
    expect(
      (lines(rewardsFile) as typeof rows).find((r) => r.prompt === special!.prompt && r.system === 'm2')!.reward,
    ).toBe(1);
    expect(
      alol(['ratings', 'export', C, '--format', 'rewards', '--rule', 'nope', '--out', rewardsFile, ...p]).status,
    ).toBe(2);
  });

  it('makes a rewards dataset from the ratings under a declared rule', () => {
    const made = json<{ dataset: { name: string; version: number; format: string }; examples: number; card: string }>([
      'rewards',
      'from-ratings',
      C,
      '--name',
      'R',
      '--rule',
      'safety-gates',
    ]);
    expect(made).toMatchObject({ dataset: { name: 'R', version: 1, format: 'ratings' }, examples: 8 });
    expect(made.card).toContain('safety-gates');
    expect(json<{ name: string; examples: number }[]>(['datasets'])).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'R', examples: 8 })]),
    );

    const shown = json<{ examples: { reward: number; rewardSource: string; metadata: Record<string, unknown> }[] }>([
      'show',
      'R',
      '--limit',
      '100',
    ]);
    expect(shown.examples).toHaveLength(8);
    for (const e of shown.examples) {
      expect(e.rewardSource).toBe('human');
      expect(e.reward).toBeGreaterThanOrEqual(0);
      expect(e.reward).toBeLessThanOrEqual(1);
      expect(e.metadata).toMatchObject({
        campaign: C,
        rule: 'safety-gates',
        system: expect.stringMatching(/^m[12]$/),
        ratings: 2,
      });
    }
    // m1 wins three items, and its fourth response is gated to 0 with m2's.
    expect(shown.examples.map((e) => e.reward).sort()).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);

    const bad = alol(['rewards', 'from-ratings', C, '--name', 'R2', '--rule', 'majority', ...p]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(
      '--rule: one of absolute, absolute-safety-gates, weighted, safety-gates, both-bad-excluded',
    );
    expect(alol(['rewards', 'from-ratings', C, ...p]).stderr).toContain('--name is required');
    const empty = alol(['rewards', 'from-ratings', 'small', '--name', 'R3', ...p]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('no answered ratings');
  });

  it('retrains from the ratings and ends with the follow-up campaign ready', () => {
    // Below the minimum evidence: refused with the numbers, then forced.
    const refused = alol(['retrain', '--campaign', C, '--steps', '2', ...p]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/only \d+ rated pairs; retraining needs at least 30 \(use --force to override\)/);
    const run = alol([
      'retrain',
      '--campaign',
      C,
      '--steps',
      '2',
      '--batch',
      '4',
      '--seed',
      '1',
      '--force',
      ...p,
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = run.json() as {
      dataset: string;
      runId: number;
      model: string;
      nextCampaign: string;
      campaign: Summary;
    };
    expect(out).toMatchObject({ dataset: `${C}-rewards`, model: `m1-${C}`, nextCampaign: `${C}-next` });
    expect(out.campaign).toMatchObject({
      name: `${C}-next`,
      status: 'ready',
      systems: [`m1-${C}`, 'm1'],
      items: 4,
      goldItems: 1,
      target: 8,
      done: 0,
    });

    expect(json<{ name: string }[]>(['models']).map((m) => m.name)).toEqual(
      expect.arrayContaining(['m1', 'm2', `m1-${C}`]),
    );
    expect(json<{ id: number; status: string; outModel: string }[]>(['runs'])).toEqual([
      expect.objectContaining({ id: out.runId, status: 'succeeded', outModel: `m1-${C}` }),
    ]);
    expect(json<Summary[]>(['campaigns']).map((c) => c.name)).toContain(`${C}-next`);

    // The names are taken now: a second retrain says so, and starts nothing.
    const again = alol(['retrain', '--campaign', C, '--steps', '2', ...p]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`a model named "m1-${C}" exists already`);
    expect(alol(['retrain', '--steps', '2', ...p]).status).toBe(2);
  }, 120_000);

  it('writes the report of the rated campaign', () => {
    const out = join(dir, 'report.html');
    const run = ok(alol(['report', '--out', out, '--campaign', C, '--reps', '20', ...p]));
    expect(run.stdout).toContain('Report written to');
    expect(existsSync(out)).toBe(true);
    expect(readFileSync(out, 'utf8')).toContain('m1');
  });
});
