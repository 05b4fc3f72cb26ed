/**
 * Agreement with a dataset's own label, for relabelling campaigns: per criterion, over the decisive
 * answers (A or B, one response picked) of first ratings of pair items, the share that picked the
 * dataset's chosen response, with a Wilson 95% interval. A tie is no vote for either side, so both
 * good and both bad are left out of the share and counted apart; skipped and flagged ratings,
 * swapped repeats and gold items are left out (as in every figure made from evidence).
 *
 *   // 5 decisive helpfulness answers, 4 of them for the dataset's chosen, 1 both bad:
 *   // { criterion: 'helpful', decisive: 5, agreed: 4, bothGood: 0, bothBad: 1, estimate: 0.8, low: 0.376, high: 0.964 }
 */
import { criteria, type DatasetAgreement } from '../../shared/rating';
import { wilson } from '../stats/winRates';
import { evidence, type StoredRating } from './storedRatings';

/** Per criterion, from a campaign's stored ratings (items that record no dataset side are not counted). */
export function datasetAgreement(ratings: readonly StoredRating[]): DatasetAgreement[] {
  const rated = evidence(ratings).filter((r) => r.datasetChosen !== null);
  return criteria.map((criterion) => {
    let decisive = 0;
    let agreed = 0;
    let bothGood = 0;
    let bothBad = 0;
    for (const r of rated) {
      const answer = r[criterion];
      if (answer === 'both_good') bothGood++;
      else if (answer === 'both_bad') bothBad++;
      else {
        decisive++;
        if (answer === r.datasetChosen) agreed++;
      }
    }
    const ci = wilson(agreed, decisive);
    return { criterion, decisive, agreed, bothGood, bothBad, estimate: ci.estimate, low: ci.low, high: ci.high };
  });
}
