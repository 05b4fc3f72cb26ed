/**
 * An annotator's work on a campaign: which item comes next, on which side each response goes,
 * and every answer committed the moment it is given.
 *
 * The queue is computed, not stored: an annotator's next item is (1) an assignment they hold and
 * have not rated (so a restart resumes exactly there, and an undone item comes back first), else
 * (2) a swapped repeat that has come due, else (3) the first item in the campaign's seeded order
 * that still wants an annotator and that they have not seen, else (4) a repeat still waiting for
 * its gap, else (5) an item they skipped, once: the end of their queue. Annotators walk the same
 * order, so overlap items fill early and agreement can be read while the work goes on.
 *
 * Nothing is served that the progress does not count, and the reverse (campaignStore.queueCounts):
 * "all done" is exactly an empty queue, and the total (done + remaining) never grows while an
 * annotator works, since repeats are counted from the seeded coin before their items are handed out.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/openDb';
import { AppError } from '../../shared/contract';
import type { RatingItem, RatingProgress, RatingSubmit, ShownRating, ShownVerdict, Verdict } from '../../shared/rating';
import { RETURNING_SKIP, type CampaignRow, type CampaignStore } from './campaignStore';
import { swappedFor, wantsRepeat } from './seededCoins';

/** Items an annotator rates between an item and its swapped repeat, so memory of the sides fades. */
export const REPEAT_GAP = 3;
/** How many of an annotator's latest decisions stay open to edits. */
export const EDITABLE = 10;

interface AssignmentRow {
  id: number;
  item_id: number;
  annotator_id: number;
  swapped: number;
  repeat_of: number | null;
  want_repeat: number;
  rated: number;
}

interface ShownRow {
  assignment_id: number;
  swapped: number;
  prompt: string;
  first_response: string;
  second_response: string;
}

interface SubmitKeyRow {
  campaign_id: number;
  assignment_id: number;
  request_sha256: string;
  next_assignment: number | null;
}

interface RatingRow {
  helpful: Verdict | null;
  safe: Verdict | null;
  helpful_strength: ShownRating['helpfulStrength'];
  safe_strength: ShownRating['safeStrength'];
  rationale: string;
  flag: ShownRating['flag'];
  flag_note: string;
  skipped: number;
  swapped: number;
}

export { mix } from './seededCoins';

export function toCanonical(shown: ShownVerdict, swapped: boolean): Verdict {
  if (shown === 'left') return swapped ? 'second' : 'first';
  if (shown === 'right') return swapped ? 'first' : 'second';
  return shown;
}

export function toShown(verdict: Verdict, swapped: boolean): ShownVerdict {
  if (verdict === 'first') return swapped ? 'right' : 'left';
  if (verdict === 'second') return swapped ? 'left' : 'right';
  return verdict;
}

export class RatingService {
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly campaigns: CampaignStore,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.q = {
      unrated: db.prepare<[number, number], AssignmentRow>(
        `SELECT * FROM assignments WHERE campaign_id = ? AND annotator_id = ? AND rated = 0
         ORDER BY reopened_at IS NULL, reopened_at DESC, id LIMIT 1`,
      ),
      // A repeat waits for an answer to its original: none comes of a skipped one (a skip that comes
      // back brings its repeat along once answered).
      dueRepeat: db.prepare<[number, number], AssignmentRow>(
        `SELECT a.* FROM assignments a JOIN ratings r ON r.assignment_id = a.id
         WHERE a.campaign_id = ? AND a.annotator_id = ? AND a.want_repeat = 1 AND a.rated = 1 AND r.skipped = 0 ORDER BY a.id LIMIT 1`,
      ),
      returningSkip: db.prepare<[number, number], AssignmentRow>(
        `SELECT a.* FROM assignments a JOIN ratings r ON r.assignment_id = a.id
         WHERE a.campaign_id = ? AND a.annotator_id = ? AND a.rated = 1 AND ${RETURNING_SKIP} ORDER BY r.updated_at, a.id LIMIT 1`,
      ),
      isReturningSkip: db.prepare<[number], { one: number }>(
        `SELECT 1 AS one FROM ratings r WHERE r.assignment_id = ? AND ${RETURNING_SKIP}`,
      ),
      laterCount: db.prepare<[number, number, number], { n: number }>(
        'SELECT count(*) AS n FROM assignments WHERE campaign_id = ? AND annotator_id = ? AND id > ?',
      ),
      nextItem: db.prepare<[number, number], { id: number; kind: 'pair' | 'gold' }>(
        `SELECT i.id, i.kind FROM items i WHERE i.campaign_id = ? AND i.open = 1
           AND NOT EXISTS (SELECT 1 FROM assignments x WHERE x.item_id = i.id AND x.annotator_id = ? AND x.repeat_of IS NULL)
         ORDER BY i.rank LIMIT 1`,
      ),
      insertAssignment: db.prepare<[number, number, number, number, number | null, number, string]>(
        'INSERT INTO assignments (campaign_id, item_id, annotator_id, swapped, repeat_of, want_repeat, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      clearWantRepeat: db.prepare<[number]>('UPDATE assignments SET want_repeat = 0 WHERE id = ?'),
      assignment: db.prepare<[number], AssignmentRow & { campaign_id: number }>(
        'SELECT * FROM assignments WHERE id = ?',
      ),
      shown: db.prepare<[number], ShownRow>(
        `SELECT a.id AS assignment_id, a.swapped, i.prompt, s1.response AS first_response, s2.response AS second_response
         FROM assignments a JOIN items i ON i.id = a.item_id
         JOIN samples s1 ON s1.id = i.first_sample JOIN samples s2 ON s2.id = i.second_sample WHERE a.id = ?`,
      ),
      rating: db.prepare<[number], RatingRow>('SELECT * FROM ratings WHERE assignment_id = ?'),
      upsertRating: db.prepare(
        `INSERT INTO ratings (assignment_id, campaign_id, annotator_id, helpful, safe, helpful_strength, safe_strength, rationale, flag, flag_note,
                              skipped, swapped, active_ms, guidelines_version, source, created_at, updated_at)
         VALUES (@assignmentId, @campaignId, @annotatorId, @helpful, @safe, @helpfulStrength, @safeStrength, @rationale, @flag, @flagNote,
                 @skipped, @swapped, @activeMs, @guidelinesVersion, @source, @now, @now)
         ON CONFLICT (assignment_id) DO UPDATE SET helpful = excluded.helpful, safe = excluded.safe,
           helpful_strength = excluded.helpful_strength, safe_strength = excluded.safe_strength, rationale = excluded.rationale,
           flag = excluded.flag, flag_note = excluded.flag_note, skipped = excluded.skipped,
           active_ms = ratings.active_ms + excluded.active_ms, guidelines_version = excluded.guidelines_version,
           edits = ratings.edits + 1, updated_at = excluded.updated_at`,
      ),
      markRated: db.prepare<[number, number]>('UPDATE assignments SET rated = ?, reopened_at = NULL WHERE id = ?'),
      reopen: db.prepare<[string, number]>('UPDATE assignments SET rated = 0, reopened_at = ? WHERE id = ?'),
      deleteRating: db.prepare<[number]>('DELETE FROM ratings WHERE assignment_id = ?'),
      submitKey: db.prepare<[number, string], SubmitKeyRow>(
        'SELECT campaign_id, assignment_id, request_sha256, next_assignment FROM submit_keys WHERE annotator_id = ? AND key = ?',
      ),
      insertSubmitKey: db.prepare<[number, string, number, number, string, number | null, string]>(
        'INSERT INTO submit_keys (annotator_id, key, campaign_id, assignment_id, request_sha256, next_assignment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      latest: db.prepare<[number, number, number], { assignment_id: number }>(
        'SELECT assignment_id FROM ratings WHERE campaign_id = ? AND annotator_id = ? ORDER BY updated_at DESC, assignment_id DESC LIMIT ?',
      ),
    };
  }

  /** The campaign, checked ready, and the annotator, checked a member of it. */
  private enter(campaignName: string, annotatorId: number): CampaignRow {
    const campaign = this.campaigns.ready(campaignName);
    if (!this.campaigns.isMember(campaign.id, annotatorId)) {
      throw new AppError('forbidden', `annotator ${annotatorId} is not in campaign "${campaignName}"`);
    }
    return campaign;
  }

  session(campaignName: string, annotatorId: number) {
    const campaign = this.enter(campaignName, annotatorId);
    return {
      campaign: campaign.name,
      annotator: this.campaigns.annotator(annotatorId),
      guidelines: campaign.guidelines,
      guidelinesVersion: campaign.guidelinesVersion,
      progress: this.progress(campaign, annotatorId),
    };
  }

  next(campaignName: string, annotatorId: number): { item: RatingItem | null; progress: RatingProgress } {
    const campaign = this.enter(campaignName, annotatorId);
    const assignment = this.db.transaction(() => this.nextAssignment(campaign, annotatorId)).immediate();
    return {
      item: assignment === null ? null : this.show(assignment, false),
      progress: this.progress(campaign, annotatorId),
    };
  }

  private nextAssignment(campaign: CampaignRow, annotatorId: number): number | null {
    const held = this.q.unrated.get(campaign.id, annotatorId);
    if (held) return held.id;
    const now = this.clock().toISOString();
    const due = this.q.dueRepeat.get(campaign.id, annotatorId);
    const repeat = (original: AssignmentRow): number => {
      this.q.clearWantRepeat.run(original.id);
      return Number(
        this.q.insertAssignment.run(
          campaign.id,
          original.item_id,
          annotatorId,
          original.swapped ^ 1,
          original.id,
          0,
          now,
        ).lastInsertRowid,
      );
    };
    if (due && (this.q.laterCount.get(campaign.id, annotatorId, due.id)?.n ?? 0) >= REPEAT_GAP) return repeat(due);
    const item = this.q.nextItem.get(campaign.id, annotatorId);
    if (!item) {
      // Nothing new left: a due repeat need not wait for its gap any more; then the skips come back.
      if (due) return repeat(due);
      return this.q.returningSkip.get(campaign.id, annotatorId)?.id ?? null;
    }
    const { seed, repeatSwapped } = campaign.config.options;
    const swapped = swappedFor(seed, annotatorId, item.id);
    const wantRepeat = wantsRepeat(item.kind, seed, annotatorId, item.id, repeatSwapped) ? 1 : 0;
    const id = Number(
      this.q.insertAssignment.run(campaign.id, item.id, annotatorId, swapped, null, wantRepeat, now).lastInsertRowid,
    );
    this.campaigns.refreshItem(campaign, item.id);
    return id;
  }

  /** The blinded view of an assignment: prompt and the two texts in this annotator's order. */
  private show(assignmentId: number, withRating: boolean): RatingItem {
    const row = this.q.shown.get(assignmentId);
    if (!row) throw new AppError('not_found', `no assignment ${assignmentId}`);
    const swapped = row.swapped === 1;
    const rating = withRating ? this.q.rating.get(assignmentId) : undefined;
    return {
      assignmentId,
      prompt: row.prompt,
      left: swapped ? row.second_response : row.first_response,
      right: swapped ? row.first_response : row.second_response,
      rating: rating ? shownRating(rating) : null,
    };
  }

  /** An assignment of this annotator in this campaign, or a refusal that names neither's secrets. */
  private own(campaign: CampaignRow, annotatorId: number, assignmentId: number) {
    const a = this.q.assignment.get(assignmentId);
    if (!a || a.campaign_id !== campaign.id || a.annotator_id !== annotatorId) {
      throw new AppError(
        'not_found',
        `no assignment ${assignmentId} for this annotator in campaign "${campaign.name}"`,
      );
    }
    return a;
  }

  private editable(campaign: CampaignRow, annotatorId: number, assignmentId: number): boolean {
    return this.q.latest.all(campaign.id, annotatorId, EDITABLE).some((r) => r.assignment_id === assignmentId);
  }

  /**
   * Commits an answer. With an idempotency key it is committed once: the key is stored with the
   * rating, in its transaction, and a repeat (the page sending it again after a lost answer) changes
   * nothing and is answered with the item the first handed out next, and the progress as it stands.
   */
  submit(input: RatingSubmit, source = 'studio'): { next: RatingItem | null; progress: RatingProgress } {
    const campaign = this.enter(input.campaign, input.annotator);
    const key = input.idempotencyKey;
    const request = key === undefined ? '' : submitHash(input);
    const nextId = this.db
      .transaction(() => {
        if (key !== undefined) {
          const seen = this.q.submitKey.get(input.annotator, key);
          if (seen) {
            if (seen.request_sha256 !== request || seen.campaign_id !== campaign.id) {
              throw new AppError(
                'conflict',
                `idempotency key ${key} was already used for another answer (assignment ${seen.assignment_id}); a new answer needs a new key`,
              );
            }
            const held = seen.next_assignment === null ? undefined : this.q.assignment.get(seen.next_assignment);
            return held && held.rated === 0 ? held.id : this.nextAssignment(campaign, input.annotator);
          }
        }
        const a = this.own(campaign, input.annotator, input.assignmentId);
        // A skip that came back at the end of the queue is answered whenever it comes, however old.
        if (a.rated === 1 && !this.editable(campaign, input.annotator, a.id) && !this.q.isReturningSkip.get(a.id)) {
          throw new AppError(
            'conflict',
            `assignment ${a.id} is not among your last ${EDITABLE} decisions; it can no longer be changed`,
          );
        }
        const swapped = a.swapped === 1;
        this.q.upsertRating.run({
          assignmentId: a.id,
          campaignId: campaign.id,
          annotatorId: input.annotator,
          helpful: input.helpful ? toCanonical(input.helpful, swapped) : null,
          safe: input.safe ? toCanonical(input.safe, swapped) : null,
          helpfulStrength: input.helpfulStrength ?? null,
          safeStrength: input.safeStrength ?? null,
          rationale: input.rationale,
          flag: input.flag ?? null,
          flagNote: input.flagNote,
          skipped: input.skip ? 1 : 0,
          swapped: a.swapped,
          activeMs: input.activeMs,
          guidelinesVersion: campaign.guidelinesVersion,
          source,
          now: this.clock().toISOString(),
        });
        this.q.markRated.run(1, a.id);
        this.campaigns.refreshItem(campaign, a.item_id);
        const next = this.nextAssignment(campaign, input.annotator);
        if (key !== undefined)
          this.q.insertSubmitKey.run(
            input.annotator,
            key,
            campaign.id,
            a.id,
            request,
            next,
            this.clock().toISOString(),
          );
        return next;
      })
      .immediate();
    return {
      next: nextId === null ? null : this.show(nextId, false),
      progress: this.progress(campaign, input.annotator),
    };
  }

  /** Takes back the latest decision: the rating is removed and its item comes back first, with the answers it had. */
  undo(campaignName: string, annotatorId: number): { item: RatingItem | null; progress: RatingProgress } {
    const campaign = this.enter(campaignName, annotatorId);
    const item = this.db
      .transaction(() => {
        const latest = this.q.latest.get(campaign.id, annotatorId, 1);
        if (!latest) return null;
        const shown = this.show(latest.assignment_id, true);
        const a = this.own(campaign, annotatorId, latest.assignment_id);
        this.q.deleteRating.run(a.id);
        this.q.reopen.run(this.clock().toISOString(), a.id);
        this.campaigns.refreshItem(campaign, a.item_id);
        return shown;
      })
      .immediate();
    return { item: item ?? this.next(campaignName, annotatorId).item, progress: this.progress(campaign, annotatorId) };
  }

  recent(campaignName: string, annotatorId: number, limit: number): RatingItem[] {
    const campaign = this.enter(campaignName, annotatorId);
    return this.q.latest
      .all(campaign.id, annotatorId, Math.min(limit, EDITABLE))
      .map((r) => this.show(r.assignment_id, true));
  }

  open(campaignName: string, annotatorId: number, assignmentId: number): RatingItem {
    const campaign = this.enter(campaignName, annotatorId);
    const a = this.own(campaign, annotatorId, assignmentId);
    if (a.rated === 1 && !this.editable(campaign, annotatorId, a.id)) {
      throw new AppError('conflict', `assignment ${a.id} is not among your last ${EDITABLE} decisions`);
    }
    return this.show(a.id, true);
  }

  progress(campaign: CampaignRow, annotatorId: number): RatingProgress {
    const { done, remaining } = this.campaigns.queueCounts(campaign, annotatorId);
    const median = this.campaigns.medianActiveMs(campaign.id, annotatorId);
    return {
      mine: { done, remaining },
      campaign: this.campaigns.pairProgress(campaign),
      medianActiveMs: median,
      etaMs: median === null ? null : median * remaining,
    };
  }
}

/** What a submit asked for, as a hash: its fields in a fixed order, the key itself left out. */
export function submitHash(input: RatingSubmit): string {
  const { idempotencyKey: _key, ...content } = input;
  const ordered = Object.fromEntries(Object.entries(content).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex');
}

function shownRating(row: RatingRow): ShownRating {
  const swapped = row.swapped === 1;
  return {
    helpful: row.helpful ? toShown(row.helpful, swapped) : null,
    safe: row.safe ? toShown(row.safe, swapped) : null,
    helpfulStrength: row.helpful_strength,
    safeStrength: row.safe_strength,
    rationale: row.rationale,
    flag: row.flag,
    flagNote: row.flag_note,
    skipped: row.skipped === 1,
  };
}
