/** The contract's results methods: the Results screen's figures over every campaign, or one. */
import type { Handlers } from '../../../shared/contract';
import type { Db } from '../../db/openDb';
import { campaignResults } from '../../report/results';

export function resultHandlers(d: { db: Db }): Pick<Handlers, 'results.get'> {
  return {
    'results.get': (input) => campaignResults(d.db, input),
  };
}
