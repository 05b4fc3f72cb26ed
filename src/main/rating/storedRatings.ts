/** Every rating of a campaign with its item, both responses and their systems: what exports, agreement and rewards read. */
import type { Db } from '../db/openDb';
import type { FlagReason, Strength, Verdict } from '../../shared/rating';
import { goldAnswers } from './campaignStore';

export interface StoredRating {
  assignmentId: number;
  item: number;
  kind: 'pair' | 'gold';
  prompt: string;
  first: { system: string; sampleId: number; response: string };
  second: { system: string; sampleId: number; response: string };
  /** A gold item's accepted answers per criterion; null where nothing is known. */
  goldHelpful: Verdict[] | null;
  goldSafe: Verdict[] | null;
  /** In a relabelling campaign: which response is the dataset's chosen one. */
  datasetChosen: 'first' | 'second' | null;
  annotatorId: number;
  annotator: string;
  /** The first response was shown on the right. */
  swapped: boolean;
  /** The assignment this one repeats with sides swapped, or null for a first rating. */
  repeatOf: number | null;
  helpful: Verdict | null;
  safe: Verdict | null;
  helpfulStrength: Strength | null;
  safeStrength: Strength | null;
  rationale: string;
  flag: FlagReason | null;
  flagNote: string;
  skipped: boolean;
  activeMs: number;
  guidelinesVersion: string;
  source: string;
  edits: number;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  assignment_id: number;
  item: number;
  kind: 'pair' | 'gold';
  prompt: string;
  first_system: string;
  second_system: string;
  first_sample: number;
  second_sample: number;
  first_response: string;
  second_response: string;
  gold_helpful: string | null;
  gold_safe: string | null;
  dataset_chosen: 'first' | 'second' | null;
  annotator_id: number;
  annotator: string;
  swapped: number;
  repeat_of: number | null;
  helpful: Verdict | null;
  safe: Verdict | null;
  helpful_strength: Strength | null;
  safe_strength: Strength | null;
  rationale: string;
  flag: FlagReason | null;
  flag_note: string;
  skipped: number;
  active_ms: number;
  guidelines_version: string;
  source: string;
  edits: number;
  created_at: string;
  updated_at: string;
}

export function storedRatings(db: Db, campaignId: number): StoredRating[] {
  return db
    .prepare<[number], Row>(
      `SELECT r.*, i.id AS item, i.kind, i.prompt, i.first_system, i.second_system, i.first_sample, i.second_sample,
              i.gold_helpful, i.gold_safe, i.dataset_chosen, s1.response AS first_response, s2.response AS second_response,
              an.name AS annotator, a.repeat_of
       FROM ratings r JOIN assignments a ON a.id = r.assignment_id JOIN items i ON i.id = a.item_id
       JOIN samples s1 ON s1.id = i.first_sample JOIN samples s2 ON s2.id = i.second_sample
       JOIN annotators an ON an.id = r.annotator_id
       WHERE r.campaign_id = ? ORDER BY r.created_at, r.assignment_id`,
    )
    .all(campaignId)
    .map((r) => ({
      assignmentId: r.assignment_id,
      item: r.item,
      kind: r.kind,
      prompt: r.prompt,
      first: { system: r.first_system, sampleId: r.first_sample, response: r.first_response },
      second: { system: r.second_system, sampleId: r.second_sample, response: r.second_response },
      goldHelpful: goldAnswers(r.gold_helpful),
      goldSafe: goldAnswers(r.gold_safe),
      datasetChosen: r.dataset_chosen,
      annotatorId: r.annotator_id,
      annotator: r.annotator,
      swapped: r.swapped === 1,
      repeatOf: r.repeat_of,
      helpful: r.helpful,
      safe: r.safe,
      helpfulStrength: r.helpful_strength,
      safeStrength: r.safe_strength,
      rationale: r.rationale,
      flag: r.flag,
      flagNote: r.flag_note,
      skipped: r.skipped === 1,
      activeMs: r.active_ms,
      guidelinesVersion: r.guidelines_version,
      source: r.source,
      edits: r.edits,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
}

/** The ratings that count as evidence: answered pair items, first ratings only (repeats measure consistency, gold measures attention). */
export function evidence(ratings: readonly StoredRating[]): (StoredRating & { helpful: Verdict; safe: Verdict })[] {
  return ratings.filter(
    (r): r is StoredRating & { helpful: Verdict; safe: Verdict } =>
      r.kind === 'pair' &&
      r.repeatOf === null &&
      !r.skipped &&
      r.flag === null &&
      r.helpful !== null &&
      r.safe !== null,
  );
}
