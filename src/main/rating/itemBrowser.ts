/**
 * The item browser (campaigns.browse): a campaign's items with every rating given on them, filtered
 * and paged, for the campaign page, the links behind the Results figures and `alol campaign items`.
 *
 * Built to stay quick at 40,000 items and 100,000 ratings (bench/itemBrowser.bench.ts): each
 * rating-based filter is one `item_id IN (...)` subquery over the ratings joined to assignments by
 * their key, the filter runs once for the count and the page, and the page's ratings are read for
 * its items alone, through the assignments_once and assignments_repeat_once indexes. No index is
 * added: flags and skips are a few percent of the ratings, so a partial index would save one
 * sequential scan of the ratings table, which costs tens of milliseconds at 100,000 ratings.
 *
 * The filters mean what the figures they stand behind count: `outcome` is over the ratings the
 * results count (evidence() in storedRatings.ts: first ratings of pair items, answered, not
 * flagged), `disagreement` over the ratings agreement reads (first ratings of pair items, not
 * skipped).
 */
import type { Db } from '../db/openDb';
import { AppError } from '../../shared/contract';
import { goldAnswers } from './campaignStore';
import type { Criterion, FlagReason, Strength, Verdict } from '../../shared/rating';
import type { BrowsedItem, BrowsedRating, BrowsePage, BrowseRequest, ItemFilter } from '../../shared/itemBrowser';

type Param = string | number;

/**
 * A campaign's ratings (r) with their assignment (a), as a subquery's FROM. `scan` reads the ratings
 * table straight through: for a filter no index narrows (flagged, skipped, disagreement, outcome),
 * a sequential scan is several times faster than walking ratings_by_annotator and fetching each row
 * (measured: bench/itemBrowser.bench.ts). With an annotator named, their index entries are few.
 */
const rated = (scan: boolean): string =>
  `SELECT a.item_id FROM ratings r ${scan ? 'NOT INDEXED ' : ''}JOIN assignments a ON a.id = r.assignment_id`;
/** A rating the results count (storedRatings.evidence), for an item already known to be a pair item. */
const COUNTED =
  'a.repeat_of IS NULL AND r.skipped = 0 AND r.flag IS NULL AND r.helpful IS NOT NULL AND r.safe IS NOT NULL';

const column: Record<Criterion, string> = { helpful: 'r.helpful', safe: 'r.safe' };

/** The WHERE clause over items i for a filter, and its parameters in order. */
export function itemWhere(
  campaignId: number,
  filter: ItemFilter,
  annotatorId: number | null,
): { sql: string; params: Param[] } {
  const where: string[] = ['i.campaign_id = ?'];
  const params: Param[] = [campaignId];
  const byRating = (condition: string, ...values: Param[]): void => {
    where.push(`i.id IN (${rated(annotatorId === null)} WHERE r.campaign_id = ? AND ${condition})`);
    params.push(campaignId, ...values);
  };
  if (filter.kind) {
    where.push('i.kind = ?');
    params.push(filter.kind);
  }
  // With an annotator named, "flagged" and "skipped" are theirs: the items they flagged or skipped.
  const whose = annotatorId === null ? '' : ' AND r.annotator_id = ?';
  const who = annotatorId === null ? [] : [annotatorId];
  if (filter.flagged) byRating(`r.flag IS NOT NULL${whose}`, ...who);
  if (filter.skipped) byRating(`r.skipped = 1${whose}`, ...who);
  if (annotatorId !== null && !filter.flagged && !filter.skipped) byRating('r.annotator_id = ?', annotatorId);
  if (filter.disagreement) {
    // MIN <> MAX: two different verdicts among the non-null ones (cheaper than COUNT(DISTINCT)).
    const differs = (c: Criterion) => `MIN(${column[c]}) <> MAX(${column[c]})`;
    const having =
      filter.disagreement === 'any' ? `${differs('helpful')} OR ${differs('safe')}` : differs(filter.disagreement);
    where.push(
      `i.kind = 'pair' AND i.id IN (${rated(true)} WHERE r.campaign_id = ? AND a.repeat_of IS NULL AND r.skipped = 0 GROUP BY a.item_id HAVING ${having})`,
    );
    params.push(campaignId);
  }
  const [a, b] = filter.systems ?? [];
  if (a !== undefined && b !== undefined) {
    where.push('((i.first_system = ? AND i.second_system = ?) OR (i.first_system = ? AND i.second_system = ?))');
    params.push(a, b, b, a);
  } else if (a !== undefined) {
    where.push('(i.first_system = ? OR i.second_system = ?)');
    params.push(a, a);
  }
  if (filter.outcome) {
    const c = column[filter.outcome.criterion];
    const result = filter.outcome.result;
    const counted = (verdict: string) =>
      `i.id IN (${rated(true)} WHERE r.campaign_id = ? AND ${COUNTED} AND ${verdict})`;
    where.push("i.kind = 'pair'");
    if (result === 'a' || result === 'b') {
      // systems[0] won ('a') or lost ('b'): the stored verdict depends on the side it is on in each item.
      const [onFirst, onSecond] = result === 'a' ? ['first', 'second'] : ['second', 'first'];
      where.push(
        `((i.first_system = ? AND ${counted(`${c} = ?`)}) OR (i.first_system <> ? AND ${counted(`${c} = ?`)}))`,
      );
      params.push(a as string, campaignId, onFirst, a as string, campaignId, onSecond);
    } else if (result === 'tie') {
      where.push(counted(`${c} IN ('both_good', 'both_bad')`));
      params.push(campaignId);
    } else {
      where.push(counted(`${c} = ?`));
      params.push(campaignId, result);
    }
  }
  return { sql: where.join(' AND '), params };
}

interface ItemRow {
  id: number;
  kind: 'pair' | 'gold';
  prompt: string;
  first_system: string;
  second_system: string;
  first_response: string;
  second_response: string;
  gold_helpful: string | null;
  gold_safe: string | null;
  dataset_chosen: 'first' | 'second' | null;
}

interface RatingRow {
  item_id: number;
  assignment_id: number;
  annotator: string;
  repeat_of: number | null;
  swapped: number;
  helpful: Verdict | null;
  safe: Verdict | null;
  helpful_strength: Strength | null;
  safe_strength: Strength | null;
  rationale: string;
  flag: FlagReason | null;
  flag_note: string;
  skipped: number;
  updated_at: string;
}

const RATING_COLUMNS = `a.item_id AS item_id, r.assignment_id AS assignment_id, an.name AS annotator, a.repeat_of AS repeat_of, r.swapped AS swapped,
  r.helpful AS helpful, r.safe AS safe, r.helpful_strength AS helpful_strength, r.safe_strength AS safe_strength, r.rationale AS rationale,
  r.flag AS flag, r.flag_note AS flag_note, r.skipped AS skipped, r.updated_at AS updated_at, r.created_at AS created_at`;

/** The criteria on which an item's first, unskipped ratings differ. */
function disagreements(given: readonly BrowsedRating[]): Criterion[] {
  const firsts = given.filter((g) => !g.repeat && !g.skipped);
  return (['helpful', 'safe'] as const).filter(
    (c) => new Set(firsts.map((g) => g[c]).filter((v) => v !== null)).size > 1,
  );
}

/** One page of a campaign's items under a filter, each with every rating given on it. */
export function browseItems(db: Db, campaignId: number, request: BrowseRequest): BrowsePage {
  let annotatorId: number | null = null;
  if (request.annotator !== undefined) {
    const found = db
      .prepare<[string], number>('SELECT id FROM annotators WHERE name = ?')
      .pluck()
      .get(request.annotator);
    if (found === undefined) throw new AppError('not_found', `no annotator named "${request.annotator}"`);
    annotatorId = found;
  }
  const where = itemWhere(campaignId, request, annotatorId);
  // The filter runs once: every matching id (40,000 integers at most per campaign), then the page's rows by id.
  const matching = db
    .prepare<Param[], number>(`SELECT i.id FROM items i WHERE ${where.sql} ORDER BY i.id`)
    .pluck()
    .all(...where.params);
  const total = matching.length;
  const pageIds = matching.slice(request.offset, request.offset + request.limit);
  const items =
    pageIds.length === 0
      ? []
      : db
          .prepare<number[], ItemRow>(
            `SELECT i.id, i.kind, i.prompt, i.first_system, i.second_system, s1.response AS first_response, s2.response AS second_response,
                    i.gold_helpful, i.gold_safe, i.dataset_chosen
             FROM items i JOIN samples s1 ON s1.id = i.first_sample JOIN samples s2 ON s2.id = i.second_sample
             WHERE i.id IN (${pageIds.map(() => '?').join(', ')}) ORDER BY i.id`,
          )
          .all(...pageIds);
  const ids = items.map((i) => i.id);
  const byItem = new Map<number, BrowsedRating[]>(ids.map((id) => [id, []]));
  if (ids.length > 0) {
    const list = ids.map(() => '?').join(', ');
    // First ratings through assignments_once (partial on repeat_of IS NULL), repeats through assignments_repeat_once.
    const rows = db
      .prepare<number[], RatingRow>(
        `SELECT ${RATING_COLUMNS} FROM assignments a JOIN ratings r ON r.assignment_id = a.id JOIN annotators an ON an.id = r.annotator_id
         WHERE a.item_id IN (${list}) AND a.repeat_of IS NULL
         UNION ALL
         SELECT ${RATING_COLUMNS} FROM assignments o JOIN assignments a ON a.repeat_of = o.id JOIN ratings r ON r.assignment_id = a.id
         JOIN annotators an ON an.id = r.annotator_id
         WHERE o.item_id IN (${list}) AND o.repeat_of IS NULL
         ORDER BY created_at, assignment_id`,
      )
      .all(...ids, ...ids);
    const kinds = new Map(items.map((i) => [i.id, i.kind]));
    for (const r of rows) {
      const skipped = r.skipped === 1;
      const repeat = r.repeat_of !== null;
      (byItem.get(r.item_id) as BrowsedRating[]).push({
        assignmentId: r.assignment_id,
        annotator: r.annotator,
        repeat,
        swapped: r.swapped === 1,
        helpful: r.helpful,
        safe: r.safe,
        helpfulStrength: r.helpful_strength,
        safeStrength: r.safe_strength,
        rationale: r.rationale,
        flag: r.flag,
        flagNote: r.flag_note,
        skipped,
        counted:
          kinds.get(r.item_id) === 'pair' &&
          !repeat &&
          !skipped &&
          r.flag === null &&
          r.helpful !== null &&
          r.safe !== null,
        updatedAt: r.updated_at,
      });
    }
  }
  const rows: BrowsedItem[] = items.map((i) => {
    const given = byItem.get(i.id) as BrowsedRating[];
    return {
      id: i.id,
      kind: i.kind,
      prompt: i.prompt,
      first: { system: i.first_system, response: i.first_response },
      second: { system: i.second_system, response: i.second_response },
      goldHelpful: goldAnswers(i.gold_helpful),
      goldSafe: goldAnswers(i.gold_safe),
      datasetChosen: i.dataset_chosen,
      given,
      disagree: i.kind === 'pair' ? disagreements(given) : [],
    };
  });
  return { total, offset: request.offset, rows };
}
