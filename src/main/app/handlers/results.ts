/** The contract's results methods: the Results screen's figures over every campaign, or one, and the HTML report of them. */
import type { Handlers } from '../../../shared/contract';
import type { Db } from '../../db/openDb';
import { campaignResults } from '../../report/results';
import { resultsReport } from '../../report/html';

/** `version` is the studio's, printed in the report with the time it was made. */
export function resultHandlers(d: { db: Db; version: string }): Pick<Handlers, 'results.get' | 'results.report'> {
  return {
    'results.get': (input) => campaignResults(d.db, input),
    'results.report': (input) =>
      resultsReport(campaignResults(d.db, input), { generatedAt: new Date(), version: d.version }),
  };
}
