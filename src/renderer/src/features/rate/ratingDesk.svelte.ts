/**
 * Rating on the desktop (and in the owner's browser): choosing a ready campaign and whom to rate
 * as, and one RatingSession per choice, kept while the user visits other screens so answers given
 * and not yet submitted survive a look at the Data screen. Reached through its own typed context,
 * put beside the studio's by main.ts.
 */
import { getContext } from 'svelte';
import type { AppErrorShape } from '../../../../shared/contract';
import type { CampaignSummary } from '../../../../shared/rating';
import { errorShape, type Client } from '../../lib/client';
import { RatingApi, type Rater } from './ratingApi';
import { RatingSession } from './ratingSession.svelte';

/** The form of the Rate screen when no one is chosen yet: campaign, then an annotator or a new name. */
export class RatePicker {
  readonly #client: Client;
  #campaigns = $state.raw<CampaignSummary[]>([]);
  #annotators = $state.raw<Array<{ id: number; name: string }>>([]);
  #loaded = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);
  #campaign = $state.raw('');
  /** An existing annotator's name, or '' for a new one typed in `newName`. */
  #annotator = $state.raw('');
  #newName = $state.raw('');
  #starting = $state.raw(false);

  /** Whom the user will rate as. */
  readonly name: string = $derived(this.#annotator !== '' ? this.#annotator : this.#newName.trim());
  readonly canStart: boolean = $derived(this.#campaign !== '' && this.name !== '' && !this.#starting);

  constructor(client: Client) {
    this.#client = client;
  }

  /** Campaigns annotators can work on now. */
  get campaigns(): CampaignSummary[] {
    return this.#campaigns;
  }
  get annotators(): Array<{ id: number; name: string }> {
    return this.#annotators;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }
  get campaign(): string {
    return this.#campaign;
  }
  get annotator(): string {
    return this.#annotator;
  }
  get newName(): string {
    return this.#newName;
  }
  get starting(): boolean {
    return this.#starting;
  }

  async load(): Promise<void> {
    try {
      const [campaigns, annotators] = await Promise.all([
        this.#client.call('campaigns.list', {}),
        this.#client.call('annotators.list', {}),
      ]);
      this.#campaigns = campaigns.filter((c) => c.status === 'ready');
      this.#annotators = annotators;
      if (!this.#campaigns.some((c) => c.name === this.#campaign)) this.#campaign = this.#campaigns[0]?.name ?? '';
      this.#error = null;
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#loaded = true;
    }
  }

  chooseCampaign(name: string): void {
    this.#campaign = name;
  }
  chooseAnnotator(name: string): void {
    this.#annotator = name;
  }
  setNewName(name: string): void {
    this.#newName = name;
  }

  /** Makes the annotator a member of the campaign (creating them if new; no link) and says whom to rate as. */
  async start(): Promise<Rater | null> {
    if (!this.canStart) return null;
    this.#starting = true;
    try {
      const out = await this.#client.call('annotators.add', { campaign: this.#campaign, name: this.name, link: false });
      this.#error = null;
      return { campaign: this.#campaign, annotator: out.annotator.id };
    } catch (error) {
      this.#error = errorShape(error);
      return null;
    } finally {
      this.#starting = false;
    }
  }
}

export class RatingDesk {
  readonly picker: RatePicker;
  readonly #client: Client;
  readonly #sessions = new Map<string, RatingSession>();

  constructor(client: Client) {
    this.#client = client;
    this.picker = new RatePicker(client);
  }

  /** The session of this campaign and annotator: the same one each time it is asked for. */
  session(rater: Rater): RatingSession {
    const key = `${rater.annotator}@${rater.campaign}`;
    let session = this.#sessions.get(key);
    if (!session) {
      // Made outside the asking screen's effects: a $derived belongs to the effect it was made in
      // and freezes at its last value once that effect is destroyed, so a session made while the
      // Rate screen rendered went stale (Submit stayed disabled) after a visit to another screen.
      // A root effect of its own lives as long as the desk keeps the session.
      const made = { session: null as RatingSession | null };
      $effect.root(() => {
        made.session = new RatingSession(new RatingApi(this.#client, rater), {
          visible: document.visibilityState === 'visible',
        });
      });
      if (!made.session) throw new Error('$effect.root did not run its function');
      session = made.session;
      this.#sessions.set(key, session);
    }
    return session;
  }
}

const key = Symbol('rating-desk');

/** The context entry to add to mount()'s context map. */
export function ratingDeskContext(client: Client): [symbol, RatingDesk] {
  return [key, new RatingDesk(client)];
}

export function getRatingDesk(): RatingDesk {
  const desk = getContext<RatingDesk | undefined>(key);
  if (!desk) throw new Error('getRatingDesk() called outside the studio (mount it with ratingDeskContext)');
  return desk;
}
