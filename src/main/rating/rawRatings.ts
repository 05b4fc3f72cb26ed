/**
 * Ratings as raw JSONL: every field of every rating, one line each, for archives and for other
 * tools; and the same format read back, for ratings collected elsewhere (another tool, an LLM
 * judge). A read is all or nothing, and a bad line is named by file, line and field.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import type { Db } from '../db/openDb';
import { AppError, type ImportIssue } from '../../shared/contract';
import { FlagReason, Strength, Verdict } from '../../shared/rating';
import type { CampaignRow, CampaignStore } from './campaignStore';
import type { StoredRating } from './storedRatings';

export const RawRating = z
  .object({
    item: z.number().int().positive(),
    kind: z.enum(['pair', 'gold']).optional(),
    prompt: z.string(),
    first: z.object({ system: z.string(), response: z.string() }).strict(),
    second: z.object({ system: z.string(), response: z.string() }).strict(),
    annotator: z.string().min(1).max(100),
    /** Which response the annotator saw on the left. */
    shown: z.enum(['first_left', 'first_right']).default('first_left'),
    helpful: Verdict.nullable().default(null),
    safe: Verdict.nullable().default(null),
    helpful_strength: Strength.nullable().default(null),
    safe_strength: Strength.nullable().default(null),
    rationale: z.string().default(''),
    flag: FlagReason.nullable().default(null),
    flag_note: z.string().default(''),
    skipped: z.boolean().default(false),
    /** A swapped repeat of the annotator's own earlier rating of the item. */
    repeat: z.boolean().default(false),
    /** A gold item's accepted answers (read back for reference; the campaign's own item decides). */
    gold_helpful: z
      .union([Verdict, z.array(Verdict)])
      .nullable()
      .optional(),
    gold_safe: z.array(Verdict).nullable().optional(),
    /** In a relabelling campaign: which response is the dataset's chosen one. */
    dataset_chosen: z.enum(['first', 'second']).nullable().optional(),
    active_ms: z.number().int().nonnegative().default(0),
    guidelines_version: z.string().optional(),
    source: z.string().optional(),
    edits: z.number().int().nonnegative().optional(),
    created_at: z.string().optional(),
    updated_at: z.string().optional(),
  })
  .strict()
  .refine((r) => r.skipped || r.flag !== null || (r.helpful !== null && r.safe !== null), {
    message: 'a rating answers both questions, or is flagged, or skipped',
  });
export type RawRating = z.infer<typeof RawRating>;

/** A campaign's stored ratings (storedRatings: oldest first) in the raw format. */
export function rawRatings(ratings: readonly StoredRating[]): RawRating[] {
  return ratings.map((r) => ({
    item: r.item,
    kind: r.kind,
    prompt: r.prompt,
    first: { system: r.first.system, response: r.first.response },
    second: { system: r.second.system, response: r.second.response },
    annotator: r.annotator,
    shown: r.swapped ? 'first_right' : 'first_left',
    helpful: r.helpful,
    safe: r.safe,
    helpful_strength: r.helpfulStrength,
    safe_strength: r.safeStrength,
    rationale: r.rationale,
    flag: r.flag,
    flag_note: r.flagNote,
    skipped: r.skipped,
    repeat: r.repeatOf !== null,
    gold_helpful: r.goldHelpful,
    gold_safe: r.goldSafe,
    dataset_chosen: r.datasetChosen,
    active_ms: r.activeMs,
    guidelines_version: r.guidelinesVersion,
    source: r.source,
    edits: r.edits,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  }));
}

/** Reads a raw ratings file into a campaign in one transaction; returns the count and the annotators named. */
export function importRawRatings(
  db: Db,
  store: CampaignStore,
  campaign: CampaignRow,
  path: string,
  now = new Date(),
): { imported: number; annotators: string[] } {
  const file = basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('not_found', `${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const issues: ImportIssue[] = [];
  const records: { line: number; rating: RawRating }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      issues.push({ file, line: i + 1, message: 'not valid JSON' });
      return;
    }
    const parsed = RawRating.safeParse(value);
    if (parsed.success) records.push({ line: i + 1, rating: parsed.data });
    else
      for (const issue of parsed.error.issues)
        issues.push({
          file,
          line: i + 1,
          ...(issue.path.length ? { field: issue.path.join('.') } : {}),
          message: issue.message,
        });
  });
  const item = db.prepare<
    [number, number],
    { id: number; prompt: string; first_system: string; second_system: string }
  >('SELECT id, prompt, first_system, second_system FROM items WHERE id = ? AND campaign_id = ?');
  for (const { line, rating } of records) {
    const found = item.get(rating.item, campaign.id);
    if (!found)
      issues.push({ file, line, field: 'item', message: `campaign "${campaign.name}" has no item ${rating.item}` });
    else if (found.prompt !== rating.prompt)
      issues.push({ file, line, field: 'prompt', message: `differs from item ${rating.item}'s prompt` });
    else if (found.first_system !== rating.first.system || found.second_system !== rating.second.system) {
      issues.push({
        file,
        line,
        field: 'first.system',
        message: `item ${rating.item} compares ${found.first_system} (first) with ${found.second_system} (second)`,
      });
    }
  }
  const fail = () => {
    const first = issues[0] as ImportIssue;
    return new AppError(
      'import_invalid',
      `${file}:${first.line}${first.field ? ` field "${first.field}"` : ''}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}; nothing imported`,
      issues.slice(0, 100),
    );
  };
  if (issues.length > 0) throw fail();

  const insertAssignment = db.prepare<[number, number, number, number, number | null, string]>(
    'INSERT INTO assignments (campaign_id, item_id, annotator_id, swapped, repeat_of, rated, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)',
  );
  const original = db.prepare<[number, number], { id: number }>(
    'SELECT id FROM assignments WHERE item_id = ? AND annotator_id = ? AND repeat_of IS NULL',
  );
  const insertRating = db.prepare(
    `INSERT INTO ratings (assignment_id, campaign_id, annotator_id, helpful, safe, helpful_strength, safe_strength, rationale, flag, flag_note,
                          skipped, swapped, active_ms, guidelines_version, source, edits, created_at, updated_at)
     VALUES (@assignmentId, @campaignId, @annotatorId, @helpful, @safe, @helpfulStrength, @safeStrength, @rationale, @flag, @flagNote,
             @skipped, @swapped, @activeMs, @guidelinesVersion, @source, @edits, @createdAt, @updatedAt)`,
  );
  const names = new Set<string>();
  db.transaction(() => {
    const at = now.toISOString();
    for (const { line, rating } of records) {
      const annotator = store.addAnnotator(campaign.id, rating.annotator, null, now);
      names.add(annotator.name);
      const prior = original.get(rating.item, annotator.id);
      if (!rating.repeat && prior)
        issues.push({
          file,
          line,
          field: 'annotator',
          message: `${rating.annotator} has rated item ${rating.item} already`,
        });
      if (rating.repeat && !prior)
        issues.push({
          file,
          line,
          field: 'repeat',
          message: `a repeat of item ${rating.item} comes after ${rating.annotator}'s first rating of it`,
        });
      if (issues.length > 0) throw fail();
      const swapped = rating.shown === 'first_right' ? 1 : 0;
      const assignmentId = Number(
        insertAssignment.run(
          campaign.id,
          rating.item,
          annotator.id,
          swapped,
          rating.repeat ? (prior as { id: number }).id : null,
          at,
        ).lastInsertRowid,
      );
      insertRating.run({
        assignmentId,
        campaignId: campaign.id,
        annotatorId: annotator.id,
        helpful: rating.helpful,
        safe: rating.safe,
        helpfulStrength: rating.helpful_strength,
        safeStrength: rating.safe_strength,
        rationale: rating.rationale,
        flag: rating.flag,
        flagNote: rating.flag_note,
        skipped: rating.skipped ? 1 : 0,
        swapped,
        activeMs: rating.active_ms,
        guidelinesVersion: rating.guidelines_version ?? campaign.guidelinesVersion,
        source: `import:${file}`,
        edits: rating.edits ?? 0,
        createdAt: rating.created_at ?? at,
        updatedAt: rating.updated_at ?? rating.created_at ?? at,
      });
      store.refreshItem(campaign, rating.item);
    }
  }).immediate();
  return { imported: records.length, annotators: [...names] };
}
