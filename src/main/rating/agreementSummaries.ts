/**
 * A campaign's agreement figures per criterion, from its stored ratings. Agreement is measured on
 * pair items only (every annotator sees every gold item, which would flatter it); gold items count
 * for gold accuracy, swapped repeats for self-consistency.
 */
import { criteria, type AgreementSummary } from '../../shared/rating';
import { agreementReport, annotatorStats, type RatingFact } from './agreement';
import type { StoredRating } from './storedRatings';

/** From a campaign's stored ratings (storedRatings), loaded once by the caller. */
export function agreementSummaries(
  stored: readonly StoredRating[],
  options: { seed: number; reps: number },
): AgreementSummary[] {
  const ratings = stored.filter((r) => !r.skipped);
  const names = new Map(ratings.map((r) => [r.annotatorId, r.annotator]));
  return criteria.map((criterion) => {
    const facts: (RatingFact & { kind: 'pair' | 'gold' })[] = ratings.flatMap((r) => {
      const value = r[criterion];
      if (value === null) return [];
      const gold = criterion === 'helpful' ? r.goldHelpful : r.goldSafe;
      return [
        {
          id: r.assignmentId,
          item: r.item,
          annotator: r.annotatorId,
          value,
          shownSwapped: r.swapped,
          gold,
          repeatOf: r.repeatOf,
          kind: r.kind,
        },
      ];
    });
    const pairs = facts.filter((f) => f.kind === 'pair');
    const report = agreementReport(pairs, { seed: options.seed, reps: options.reps });
    const withGold = new Map(annotatorStats(facts).map((a) => [a.annotator, a]));
    return {
      criterion,
      items: report.items,
      raw: report.raw,
      cohen: report.cohen,
      fleiss: report.fleiss,
      alpha: report.alpha,
      annotators: [...withGold.values()].map((all) => {
        const onPairs = report.annotators.find((a) => a.annotator === all.annotator);
        return {
          annotator: names.get(all.annotator) ?? String(all.annotator),
          n: onPairs?.n ?? 0,
          agreement: onPairs?.agreement ?? null,
          goldAccuracy: all.goldAccuracy,
          selfConsistency: all.selfConsistency,
          positionBias: all.positionBias,
        };
      }),
    };
  });
}
