import type { Criterion, Verdict } from '../../../../shared/rating';
import type { BrowsedItem, BrowsedRating, ItemFilter, ItemOutcome } from '../../../../shared/itemBrowser';
import type { Client } from '../../lib/client';
import { PageState } from '../../app/page.svelte';

/** Items per page: each carries its responses and every rating, so pages stay short. */
const PAGE_SIZE = 20;

export type DisagreementChoice = '' | NonNullable<ItemFilter['disagreement']>;

const criterionNames: Record<Criterion, string> = { helpful: 'helpfulness', safe: 'safety' };
const outcomeNames: Record<ItemOutcome, (a: string, b: string) => string> = {
  a: (a) => `${a} preferred`,
  b: (_, b) => `${b} preferred`,
  tie: () => 'a tie (both good or both bad)',
  both_good: () => 'both good',
  both_bad: () => 'both bad',
};

/**
 * A campaign's item browser: the filters (flagged, skipped, disagreement, annotator, and the
 * systems and outcome a Results figure stands for), and the page of items they select, each with
 * every rating, its rationale and its flag note (campaigns.browse). Any change of filter starts
 * again at the first page.
 */
export class CampaignItemsState {
  readonly #client: Client;
  readonly campaign: string;
  readonly page: PageState<BrowsedItem>;
  #flagged = $state.raw(false);
  #skipped = $state.raw(false);
  #disagreement = $state.raw<DisagreementChoice>('');
  #annotator = $state.raw('');
  #systems = $state.raw<string[] | null>(null);
  #outcome = $state.raw<ItemFilter['outcome'] | null>(null);
  /** A filter was set from elsewhere (a Results link): the browser brings itself into view, once. */
  #scrollWanted = $state.raw(false);

  /** The filter from a Results figure, in words; null when there is none. */
  readonly linked: string | null = $derived.by(() => {
    const systems = this.#systems;
    const outcome = this.#outcome;
    if (!systems && !outcome) return null;
    const [a = '', b = ''] = systems ?? [];
    const pair = systems ? (systems.length === 2 ? `${a} vs ${b}` : a) : 'all items';
    return outcome ? `${pair}, ${criterionNames[outcome.criterion]}: ${outcomeNames[outcome.result](a, b)}` : pair;
  });

  constructor(client: Client, campaign: string) {
    this.#client = client;
    this.campaign = campaign;
    this.page = new PageState(
      (offset, limit) =>
        this.#client.call('campaigns.browse', { campaign: this.campaign, ...this.filter, offset, limit }),
      PAGE_SIZE,
    );
  }

  /** The filter as campaigns.browse takes it: only what is set. */
  get filter(): ItemFilter {
    return {
      ...(this.#flagged ? { flagged: true } : {}),
      ...(this.#skipped ? { skipped: true } : {}),
      ...(this.#disagreement !== '' ? { disagreement: this.#disagreement } : {}),
      ...(this.#annotator !== '' ? { annotator: this.#annotator } : {}),
      ...(this.#systems ? { systems: this.#systems } : {}),
      ...(this.#outcome ? { outcome: this.#outcome } : {}),
    };
  }

  get flagged(): boolean {
    return this.#flagged;
  }
  set flagged(value: boolean) {
    this.#flagged = value;
    void this.page.load(0);
  }
  get skipped(): boolean {
    return this.#skipped;
  }
  set skipped(value: boolean) {
    this.#skipped = value;
    void this.page.load(0);
  }
  get disagreement(): DisagreementChoice {
    return this.#disagreement;
  }
  set disagreement(value: DisagreementChoice) {
    this.#disagreement = value;
    void this.page.load(0);
  }
  get annotator(): string {
    return this.#annotator;
  }
  set annotator(value: string) {
    this.#annotator = value;
    void this.page.load(0);
  }
  get scrollWanted(): boolean {
    return this.#scrollWanted;
  }

  /** The browser is in view: a later visit to the page opens at its top. */
  scrolled(): void {
    this.#scrollWanted = false;
  }

  /** Drops the systems and outcome a Results link set, keeping the rest. */
  clearLinked(): void {
    this.#systems = null;
    this.#outcome = null;
    void this.page.load(0);
  }

  /** Sets the whole filter at once (what a Results figure stands for) and shows its first page. */
  show(filter: ItemFilter): void {
    this.#flagged = filter.flagged ?? false;
    this.#skipped = filter.skipped ?? false;
    this.#disagreement = filter.disagreement ?? '';
    this.#annotator = filter.annotator ?? '';
    this.#systems = filter.systems ?? null;
    this.#outcome = filter.outcome ?? null;
    this.#scrollWanted = true;
    void this.page.load(0);
  }
}

/** A stored verdict in words, with the systems named (the browser is for administrators: nothing is blinded). */
export function verdictText(verdict: Verdict | null, item: Pick<BrowsedItem, 'first' | 'second'>): string {
  if (verdict === null) return '—';
  if (verdict === 'first') return item.first.system;
  if (verdict === 'second') return item.second.system;
  return verdict === 'both_good' ? 'both good' : 'both bad';
}

/** What a rating was, in a word or two: skipped, flagged, a repeat. */
export function ratingTags(r: BrowsedRating): string[] {
  return [
    ...(r.skipped ? ['skipped'] : []),
    ...(r.flag ? [`flagged: ${r.flag}`] : []),
    ...(r.repeat ? ['swapped repeat'] : []),
    ...(!r.counted && !r.skipped && !r.flag && !r.repeat ? ['not counted'] : []),
  ];
}
