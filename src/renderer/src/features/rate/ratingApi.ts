/**
 * The rating methods as the rating screen calls them: without `campaign` and `annotator`. On the
 * desktop (and the owner's browser) they are added from whom the user chose to rate as; on an
 * annotator's personal link they are left out, because the server fills them in from the link's
 * token (and refuses a request that names anyone else).
 */
import type { Input, Output } from '../../../../shared/contract';
import type { ratingMethods } from '../../../../shared/rating';
import type { Client } from '../../lib/client';

export type RatingMethod = keyof typeof ratingMethods;
export type RatingInput<M extends RatingMethod> = Omit<Input<M>, 'campaign' | 'annotator'>;

/** Whom the desktop user rates as; null on an annotator's link. */
export interface Rater {
  campaign: string;
  annotator: number;
}

export class RatingApi {
  readonly #client: Client;
  readonly #rater: Rater | null;

  constructor(client: Client, rater: Rater | null) {
    this.#client = client;
    this.#rater = rater;
  }

  call<M extends RatingMethod>(method: M, input: RatingInput<M>): Promise<Output<M>> {
    const full =
      this.#rater === null ? input : { ...input, campaign: this.#rater.campaign, annotator: this.#rater.annotator };
    // The one cast: on an annotator's link the input lacks the two fields the contract requires,
    // which the server adds from the token; on the desktop they were just added above.
    return this.#client.call(method, full as Input<M>);
  }
}
