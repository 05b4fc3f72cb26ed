/**
 * Campaigns, their items and their annotators in SQLite. An item is two responses to one prompt
 * from two systems, in a canonical (first, second) order fixed at creation; what each annotator
 * sees is decided per assignment (ratingService.ts).
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/openDb';
import { AppError, GenerateSettings, type CampaignCreate, type PromptFormat } from '../../shared/contract';
import { wantsRepeat } from './seededCoins';
import { CampaignOptions, Verdict, type CampaignItem, type CampaignSummary } from '../../shared/rating';
import type { GoldFileItem } from './goldFile';

/** What a campaign was asked for, stored as its config. */
export interface CampaignConfig {
  /** 'pairs' relabels the dataset's preference pairs (prompts); absent in campaigns made before relabelling existed. */
  kind?: 'systems' | 'pairs';
  systems: string[];
  prompts: { dataset: string; version: number; split: string | null };
  options: CampaignOptions;
  settings: GenerateSettings;
  /** The prompt format asked for; absent: each model's own default (and in campaigns made before formats existed). */
  format?: PromptFormat;
  /** Gold items read from a file at creation (so the job never reads a file that may have changed since). */
  goldFile?: { file: string; items: GoldFileItem[] };
}

/** The systems of a relabelling campaign: the dataset's chosen and rejected responses. */
export function pairSystems(dataset: string): [string, string] {
  return [`data:${dataset}:chosen`, `data:${dataset}:rejected`];
}

export interface CampaignRow {
  id: number;
  name: string;
  status: CampaignSummary['status'];
  config: CampaignConfig;
  guidelines: string;
  guidelinesVersion: string;
  jobId: number | null;
  error: string | null;
  createdAt: string;
}

export interface NewItem {
  kind: 'pair' | 'gold';
  prompt: string;
  firstSample: number;
  secondSample: number;
  firstSystem: string;
  secondSystem: string;
  /** Accepted answers of a gold item per criterion; null where nothing is known. */
  goldHelpful: Verdict[] | null;
  goldSafe: Verdict[] | null;
  datasetChosen: 'first' | 'second' | null;
  reveals: boolean;
  rank: number;
}

interface RawCampaign {
  id: number;
  name: string;
  status: CampaignSummary['status'];
  config: string;
  guidelines: string;
  guidelines_version: string;
  job_id: number | null;
  error: string | null;
  created_at: string;
}

interface ItemRow {
  id: number;
  kind: 'pair' | 'gold';
  prompt: string;
  first_sample: number;
  second_sample: number;
  first_system: string;
  second_system: string;
  first_response: string;
  second_response: string;
  gold_helpful: string | null;
  gold_safe: string | null;
  dataset_chosen: 'first' | 'second' | null;
  reveals: number;
  ratings: number;
}

/** A gold column as stored since migration 6: a JSON list of accepted verdicts, or null. */
export function goldAnswers(column: string | null): Verdict[] | null {
  return column === null ? null : Verdict.array().parse(JSON.parse(column));
}

/** A short, stable stamp of the guidelines' text: a rating records which text its annotator read. */
export function guidelinesVersion(text: string): string {
  return `g-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * SQL over a rating `r`: a skip that comes back, once, at the end of its annotator's queue. That is
 * a skip given as the assignment's first answer in the studio (edits = 0); the answer given when it
 * comes back is an edit, so a second skip is final. Imported skips (another tool's) are final as
 * they are. While a skip is to come back, its item stays with its annotator (not reopened to others).
 */
export const RETURNING_SKIP = "(r.skipped = 1 AND r.edits = 0 AND r.source NOT LIKE 'import:%')";

export class CampaignStore {
  private readonly q;
  /** Per campaign and annotator: the JSON list of pair items whose seeded coin asks for a swapped repeat. */
  private readonly repeatCoins = new Map<string, string>();

  constructor(private readonly db: Db) {
    this.q = {
      insert: db.prepare<[string, string, string, string, string]>(
        "INSERT INTO campaigns (name, status, config, guidelines, guidelines_version, created_at) VALUES (?, 'preparing', ?, ?, ?, ?)",
      ),
      byName: db.prepare<[string], RawCampaign>('SELECT * FROM campaigns WHERE name = ?'),
      byId: db.prepare<[number], RawCampaign>('SELECT * FROM campaigns WHERE id = ?'),
      list: db.prepare<[], RawCampaign>('SELECT * FROM campaigns ORDER BY id'),
      setJob: db.prepare<[number, number]>('UPDATE campaigns SET job_id = ? WHERE id = ?'),
      setStatus: db.prepare<[string, string | null, number]>('UPDATE campaigns SET status = ?, error = ? WHERE id = ?'),
      insertItem: db.prepare(
        `INSERT INTO items (campaign_id, kind, prompt, first_sample, second_sample, first_system, second_system, gold_helpful, gold_safe, dataset_chosen, reveals, rank)
         VALUES (@campaignId, @kind, @prompt, @firstSample, @secondSample, @firstSystem, @secondSystem, @goldHelpful, @goldSafe, @datasetChosen, @reveals, @rank)`,
      ),
      counts: db.prepare<[number], { items: number; gold: number; revealing: number }>(
        "SELECT count(*) FILTER (WHERE kind = 'pair') AS items, count(*) FILTER (WHERE kind = 'gold') AS gold, count(*) FILTER (WHERE reveals = 1) AS revealing FROM items WHERE campaign_id = ?",
      ),
      ratingCount: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM ratings WHERE campaign_id = ?'),
      // Progress in one pass over the pair items rather than a join of every rating (about 130 ms a
      // call at 100,000 ratings; bench/rating.bench.ts): refreshItem keeps items.assigned = an item's
      // non-repeat assignments not skipped, rated or still held, so the ratings given are its sum
      // less the held (unrated) assignments, which are few.
      pairItems: db.prepare<[number], { n: number; assigned: number }>(
        "SELECT count(*) AS n, coalesce(sum(assigned), 0) AS assigned FROM items WHERE campaign_id = ? AND kind = 'pair'",
      ),
      heldPairs: db.prepare<[number], { n: number }>(
        `SELECT count(*) AS n FROM assignments a JOIN items i ON i.id = a.item_id
         WHERE a.campaign_id = ? AND a.rated = 0 AND a.repeat_of IS NULL AND i.kind = 'pair'`,
      ),
      annotatorProgress: db.prepare<
        [number],
        { id: number; name: string; flagged: number; skipped: number; has_link: number }
      >(
        `SELECT an.id, an.name, ca.token_sha256 IS NOT NULL AS has_link,
                (SELECT count(*) FROM ratings r WHERE r.campaign_id = ca.campaign_id AND r.annotator_id = an.id AND r.flag IS NOT NULL) AS flagged,
                (SELECT count(*) FROM ratings r WHERE r.campaign_id = ca.campaign_id AND r.annotator_id = an.id AND r.skipped = 1) AS skipped
         FROM campaign_annotators ca JOIN annotators an ON an.id = ca.annotator_id WHERE ca.campaign_id = ? ORDER BY an.name`,
      ),
      activeTimes: db.prepare<[number, number], { active_ms: number }>(
        'SELECT active_ms FROM ratings WHERE campaign_id = ? AND annotator_id = ? AND skipped = 0 ORDER BY updated_at DESC LIMIT 50',
      ),
      items: db.prepare<[number, number, number], ItemRow>(
        `SELECT i.*, s1.response AS first_response, s2.response AS second_response,
                (SELECT count(*) FROM assignments a JOIN ratings r ON r.assignment_id = a.id WHERE a.item_id = i.id) AS ratings
         FROM items i JOIN samples s1 ON s1.id = i.first_sample JOIN samples s2 ON s2.id = i.second_sample
         WHERE i.campaign_id = ? ORDER BY i.id LIMIT ? OFFSET ?`,
      ),
      annotatorByName: db.prepare<[string], { id: number; name: string }>(
        'SELECT id, name FROM annotators WHERE name = ?',
      ),
      annotatorById: db.prepare<[number], { id: number; name: string }>('SELECT id, name FROM annotators WHERE id = ?'),
      annotators: db.prepare<[], { id: number; name: string }>('SELECT id, name FROM annotators ORDER BY name'),
      insertAnnotator: db.prepare<[string, string]>('INSERT INTO annotators (name, created_at) VALUES (?, ?)'),
      upsertMember: db.prepare<[number, number, string | null, string]>(
        `INSERT INTO campaign_annotators (campaign_id, annotator_id, token_sha256, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (campaign_id, annotator_id) DO UPDATE SET token_sha256 = coalesce(excluded.token_sha256, token_sha256)`,
      ),
      revokeLink: db.prepare<[number, number]>(
        'UPDATE campaign_annotators SET token_sha256 = NULL WHERE campaign_id = ? AND annotator_id = ? AND token_sha256 IS NOT NULL',
      ),
      // Unanswered, and no repeat hangs on it (an answer taken back after its repeat was handed out).
      held: db.prepare<[number, number], { id: number; item_id: number; repeat_of: number | null }>(
        `SELECT id, item_id, repeat_of FROM assignments a WHERE campaign_id = ? AND annotator_id = ? AND rated = 0
           AND NOT EXISTS (SELECT 1 FROM assignments r WHERE r.repeat_of = a.id)`,
      ),
      deleteAssignment: db.prepare<[number]>('DELETE FROM assignments WHERE id = ?'),
      wantRepeatAgain: db.prepare<[number]>('UPDATE assignments SET want_repeat = 1 WHERE id = ?'),
      member: db.prepare<[number, number], { annotator_id: number }>(
        'SELECT annotator_id FROM campaign_annotators WHERE campaign_id = ? AND annotator_id = ?',
      ),
      // An item wants annotators while its live assignments (not repeats, not skipped, or skipped
      // and coming back to their annotator) are fewer than the overlap. assigned counts the live
      // ones not skipped, as pairProgress reads it.
      refreshItem: db.prepare<{ overlap: number; id: number }>(
        `UPDATE items SET (assigned, open) = (
           SELECT count(*) FILTER (WHERE coalesce(r.skipped, 0) = 0),
                  items.kind = 'gold' OR count(*) FILTER (WHERE coalesce(r.skipped, 0) = 0 OR ${RETURNING_SKIP}) < @overlap
           FROM assignments a LEFT JOIN ratings r ON r.assignment_id = a.id
           WHERE a.item_id = items.id AND a.repeat_of IS NULL)
         WHERE id = @id`,
      ),
      // One annotator's queue, as queueCounts adds it up.
      // Two counts, each from an index: all of an annotator's ratings (covering), and the skips among
      // them to come back (the few rows of ratings_skipped), not a read of every rating (~13 ms at
      // 10,000 ratings; bench/rating.bench.ts).
      myRatings: db.prepare<{ campaign: number; annotator: number }, { n: number; coming_back: number }>(
        `SELECT (SELECT count(*) FROM ratings WHERE campaign_id = @campaign AND annotator_id = @annotator) AS n,
                (SELECT count(*) FROM ratings r WHERE r.campaign_id = @campaign AND r.annotator_id = @annotator AND r.skipped = 1 AND ${RETURNING_SKIP}) AS coming_back`,
      ),
      myHeld: db.prepare<[number, number], { n: number }>(
        'SELECT count(*) AS n FROM assignments WHERE campaign_id = ? AND annotator_id = ? AND rated = 0',
      ),
      myRepeats: db.prepare<[number, number], { n: number }>(
        `SELECT count(*) AS n FROM assignments a LEFT JOIN ratings r ON r.assignment_id = a.id
         WHERE a.campaign_id = ? AND a.annotator_id = ? AND a.want_repeat = 1 AND (r.assignment_id IS NULL OR r.skipped = 0 OR ${RETURNING_SKIP})`,
      ),
      // The items still open to an annotator: the open items (counted in the items_queue index) less
      // the open ones they hold already (their own assignments, at most one each: assignments_once),
      // not a NOT EXISTS probe per item of the campaign (2 ms a call at 2,000 items with 50
      // annotators rating; bench/serve-load.bench.ts).
      openItems: db.prepare<[number], { n: number }>(
        'SELECT count(*) AS n FROM items WHERE campaign_id = ? AND open = 1',
      ),
      myOpenTaken: db.prepare<[number, number], { n: number }>(
        `SELECT count(*) AS n FROM assignments a JOIN items i ON i.id = a.item_id
         WHERE a.campaign_id = ? AND a.annotator_id = ? AND a.repeat_of IS NULL AND i.open = 1`,
      ),
      pairItemIds: db.prepare<[number], { id: number }>(
        "SELECT id FROM items WHERE campaign_id = ? AND kind = 'pair' ORDER BY id",
      ),
      // Of the given items (a JSON list of ids), those still open to the annotator.
      openOfListed: db.prepare<[string, number], { n: number }>(
        `SELECT count(*) AS n FROM json_each(?) j JOIN items i ON i.id = j.value WHERE i.open = 1
           AND NOT EXISTS (SELECT 1 FROM assignments x WHERE x.item_id = i.id AND x.annotator_id = ? AND x.repeat_of IS NULL)`,
      ),
      byToken: db.prepare<[string], { annotator_id: number; name: string }>(
        'SELECT ca.annotator_id, c.name FROM campaign_annotators ca JOIN campaigns c ON c.id = ca.campaign_id WHERE ca.token_sha256 = ?',
      ),
    };
  }

  /**
   * Records a campaign, preparing. `n` is resolved by the caller (a relabelling campaign's "all" is
   * its dataset's pair count); `gold` holds the items of a gold file, already read and checked.
   */
  create(
    input: CampaignCreate,
    resolved: { datasetVersion: number; n: number; gold?: CampaignConfig['goldFile'] },
    guidelines: string,
    now = new Date(),
  ): number {
    if (this.has(input.name)) throw new AppError('conflict', `a campaign named "${input.name}" exists already`);
    const source = input.pairs ?? input.prompts;
    if (!source) throw new AppError('invalid_input', 'give models and prompts, or pairs to relabel');
    const config: CampaignConfig = {
      kind: input.pairs ? 'pairs' : 'systems',
      systems: input.pairs ? pairSystems(input.pairs.dataset) : (input.models ?? []),
      prompts: { dataset: source.dataset, version: resolved.datasetVersion, split: source.split ?? null },
      options: CampaignOptions.parse({
        n: resolved.n,
        overlap: input.overlap,
        gold: input.gold,
        repeatSwapped: input.repeatSwapped,
        seed: input.seed,
      }),
      settings: input.settings,
      ...(input.format ? { format: input.format } : {}),
      ...(resolved.gold ? { goldFile: resolved.gold } : {}),
    };
    const info = this.q.insert.run(
      input.name,
      JSON.stringify(config),
      guidelines,
      guidelinesVersion(guidelines),
      now.toISOString(),
    );
    return Number(info.lastInsertRowid);
  }

  get(name: string): CampaignRow {
    const row = this.q.byName.get(name);
    if (!row) throw new AppError('not_found', `no campaign named "${name}"`);
    return toCampaign(row);
  }

  has(name: string): boolean {
    return this.q.byName.get(name) !== undefined;
  }

  getById(id: number): CampaignRow {
    const row = this.q.byId.get(id);
    if (!row) throw new AppError('not_found', `no campaign with id ${id}`);
    return toCampaign(row);
  }

  /** A campaign that annotators can work on: ready, not preparing or failed. */
  ready(name: string): CampaignRow {
    const campaign = this.get(name);
    if (campaign.status !== 'ready') {
      throw new AppError(
        'conflict',
        `campaign "${name}" is ${campaign.status}${campaign.error ? `: ${campaign.error}` : ''}`,
      );
    }
    return campaign;
  }

  /** Every campaign, oldest first, without the counting a summary does. */
  rows(): CampaignRow[] {
    return this.q.list.all().map(toCampaign);
  }

  list(): CampaignSummary[] {
    return this.rows().map((row) => this.summary(row));
  }

  setJob(id: number, jobId: number): void {
    this.q.setJob.run(jobId, id);
  }

  setStatus(id: number, status: CampaignSummary['status'], error: string | null = null): void {
    this.q.setStatus.run(status, error, id);
  }

  /** Stores every item and marks the campaign ready, together: a campaign is whole or not ready. */
  fill(id: number, items: readonly NewItem[]): void {
    this.db
      .transaction(() => {
        for (const item of items) {
          this.q.insertItem.run({
            ...item,
            campaignId: id,
            goldHelpful: item.goldHelpful === null ? null : JSON.stringify(item.goldHelpful),
            goldSafe: item.goldSafe === null ? null : JSON.stringify(item.goldSafe),
            reveals: item.reveals ? 1 : 0,
          });
        }
        this.setStatus(id, 'ready');
      })
      .immediate();
  }

  summary(campaign: CampaignRow): CampaignSummary {
    const counts = this.q.counts.get(campaign.id) ?? { items: 0, gold: 0, revealing: 0 };
    const progress = this.pairProgress(campaign);
    return {
      id: campaign.id,
      name: campaign.name,
      status: campaign.status,
      kind: campaign.config.kind ?? 'systems',
      systems: campaign.config.systems,
      prompts: campaign.config.prompts,
      options: campaign.config.options,
      format: campaign.config.format ?? null,
      guidelinesVersion: campaign.guidelinesVersion,
      items: counts.items,
      goldItems: counts.gold,
      target: progress.target,
      done: progress.done,
      ratings: this.q.ratingCount.get(campaign.id)?.n ?? 0,
      revealing: counts.revealing,
      annotators: this.q.annotatorProgress.all(campaign.id).map((a) => ({
        id: a.id,
        name: a.name,
        ...this.queueCounts(campaign, a.id),
        flagged: a.flagged,
        skipped: a.skipped,
        medianActiveMs: this.medianActiveMs(campaign.id, a.id),
        hasLink: a.has_link === 1,
      })),
      jobId: campaign.jobId,
      error: campaign.error,
      createdAt: campaign.createdAt,
    };
  }

  /** Pair-item ratings given (not skipped, not repeats) and wanted (pair items x overlap). */
  pairProgress(campaign: CampaignRow): { done: number; target: number } {
    const pairs = this.q.pairItems.get(campaign.id) ?? { n: 0, assigned: 0 };
    const target = pairs.n * campaign.config.options.overlap;
    return { done: Math.min(pairs.assigned - (this.q.heldPairs.get(campaign.id)?.n ?? 0), target), target };
  }

  /**
   * One annotator's queue, the figures the Rate screen, the campaign page and `campaign show` all
   * give: done = decisions made (answers, flags, final skips; gold items and repeats included),
   * remaining = what the queue will still serve them: items held, skips that come back, repeats
   * owed, and the items still open to them with the repeats the seeded coin will ask of those.
   * done + remaining stays the same while they work; it shrinks when others take shared items
   * (overlap below the number of annotators), and grows only when another annotator gives an item
   * up for good (a second skip) and it opens to them again.
   */
  queueCounts(campaign: CampaignRow, annotatorId: number): { done: number; remaining: number } {
    const ratings = this.q.myRatings.get({ campaign: campaign.id, annotator: annotatorId }) ?? { n: 0, coming_back: 0 };
    const { seed, repeatSwapped } = campaign.config.options;
    // The items still open to them, each with the repeat its coin asks for (a count alone without repeats).
    let ahead =
      (this.q.openItems.get(campaign.id)?.n ?? 0) - (this.q.myOpenTaken.get(campaign.id, annotatorId)?.n ?? 0);
    if (repeatSwapped > 0) {
      // The coin is a pure function of (seed, annotator, item): the items whose coin asks for a
      // repeat are listed once per annotator (a campaign's items are fixed once it is ready), and
      // only those few are looked up.
      const key = `${campaign.id}/${annotatorId}/${seed}/${repeatSwapped}`;
      let coins = this.repeatCoins.get(key);
      if (coins === undefined) {
        const ids = this.q.pairItemIds
          .all(campaign.id)
          .flatMap((i) => (wantsRepeat('pair', seed, annotatorId, i.id, repeatSwapped) ? [i.id] : []));
        coins = JSON.stringify(ids);
        if (campaign.status === 'ready') this.repeatCoins.set(key, coins);
      }
      ahead += this.q.openOfListed.get(coins, annotatorId)?.n ?? 0;
    }
    const remaining =
      (this.q.myHeld.get(campaign.id, annotatorId)?.n ?? 0) +
      ratings.coming_back +
      (this.q.myRepeats.get(campaign.id, annotatorId)?.n ?? 0) +
      ahead;
    return { done: ratings.n - ratings.coming_back, remaining };
  }

  /** The median of an annotator's last 50 active times: robust to the item they left open over lunch. */
  medianActiveMs(campaignId: number, annotatorId: number): number | null {
    const times = this.q.activeTimes
      .all(campaignId, annotatorId)
      .map((r) => r.active_ms)
      .sort((a, b) => a - b);
    if (times.length === 0) return null;
    const mid = times.length >> 1;
    return times.length % 2 === 1 ? (times[mid] as number) : ((times[mid - 1] as number) + (times[mid] as number)) / 2;
  }

  items(campaignId: number, offset: number, limit: number): { total: number; offset: number; rows: CampaignItem[] } {
    const counts = this.q.counts.get(campaignId) ?? { items: 0, gold: 0 };
    return {
      total: counts.items + counts.gold,
      offset,
      rows: this.q.items.all(campaignId, limit, offset).map((r) => ({
        id: r.id,
        kind: r.kind,
        prompt: r.prompt,
        first: { system: r.first_system, sampleId: r.first_sample, response: r.first_response },
        second: { system: r.second_system, sampleId: r.second_sample, response: r.second_response },
        goldHelpful: goldAnswers(r.gold_helpful),
        goldSafe: goldAnswers(r.gold_safe),
        datasetChosen: r.dataset_chosen,
        reveals: r.reveals === 1,
        ratings: r.ratings,
      })),
    };
  }

  annotators(): { id: number; name: string }[] {
    return this.q.annotators.all();
  }

  annotator(id: number): { id: number; name: string } {
    const row = this.q.annotatorById.get(id);
    if (!row) throw new AppError('not_found', `no annotator with id ${id}`);
    return row;
  }

  /**
   * Makes `name` an annotator of the campaign, creating them if new. With a token hash, that
   * token becomes their only key (any earlier one stops working); without, the desktop user rates
   * as them and any link they had stays.
   */
  addAnnotator(
    campaignId: number,
    name: string,
    tokenSha256: string | null,
    now = new Date(),
  ): { id: number; name: string } {
    return this.db
      .transaction(() => {
        let annotator = this.q.annotatorByName.get(name);
        if (!annotator) {
          this.q.insertAnnotator.run(name, now.toISOString());
          annotator = this.q.annotatorByName.get(name) as { id: number; name: string };
        }
        this.q.upsertMember.run(campaignId, annotator.id, tokenSha256, now.toISOString());
        return annotator;
        // Immediate: it reads before it writes, and a deferred transaction that must upgrade its read
        // to a write while another process writes fails at once with SQLITE_BUSY, busy timeout or not.
      })
      .immediate();
  }

  /**
   * Revokes `name`'s personal link to the campaign: byToken no longer knows it, so the server
   * refuses it from its next request. Their ratings and membership stay. False when they had no link.
   */
  revokeLink(campaign: CampaignRow, name: string): { annotator: { id: number; name: string }; revoked: boolean } {
    const annotator = this.q.annotatorByName.get(name);
    if (!annotator || !this.isMember(campaign.id, annotator.id))
      throw new AppError('not_found', `"${name}" is not an annotator of campaign "${campaign.name}"`);
    return this.db
      .transaction(() => {
        const revoked = this.q.revokeLink.run(campaign.id, annotator.id).changes > 0;
        if (revoked) this.releaseHeld(campaign, annotator.id);
        return { annotator, revoked };
      })
      .immediate();
  }

  /**
   * The item a revoked annotator was shown and had not answered goes back to the pool: its
   * reservation would otherwise count toward the overlap for good, and with overlap 1 nobody would
   * ever rate it. Nothing of theirs is lost (an unanswered assignment holds no rating); if they
   * come back through a new link they get whatever is next, and a repeat of theirs that was
   * waiting is due again.
   */
  private releaseHeld(campaign: CampaignRow, annotatorId: number): void {
    for (const held of this.q.held.all(campaign.id, annotatorId)) {
      if (held.repeat_of !== null) this.q.wantRepeatAgain.run(held.repeat_of);
      this.q.deleteAssignment.run(held.id);
      this.refreshItem(campaign, held.item_id);
    }
  }

  /** Recounts an item's live assignments after one changed, reopening or closing it to new annotators. */
  refreshItem(campaign: CampaignRow, itemId: number): void {
    this.q.refreshItem.run({ overlap: campaign.config.options.overlap, id: itemId });
  }

  isMember(campaignId: number, annotatorId: number): boolean {
    return this.q.member.get(campaignId, annotatorId) !== undefined;
  }

  /** Whose token this is: the annotator and the one campaign it opens. */
  byToken(token: string): { annotator: number; campaign: string } | null {
    const row = this.q.byToken.get(tokenHash(token));
    return row ? { annotator: row.annotator_id, campaign: row.name } : null;
  }
}

function toCampaign(row: RawCampaign): CampaignRow {
  const config = JSON.parse(row.config) as CampaignConfig;
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    config: {
      ...config,
      options: CampaignOptions.parse(config.options),
      settings: GenerateSettings.parse(config.settings),
    },
    guidelines: row.guidelines,
    guidelinesVersion: row.guidelines_version,
    jobId: row.job_id,
    error: row.error,
    createdAt: row.created_at,
  };
}
