import { z } from 'zod';
import { CampaignCreate, type AppErrorShape, type Job, type JobProgress } from '../../../../shared/contract';
import type { AgreementSummary, CampaignSummary } from '../../../../shared/rating';
import { errorShape, type Client } from '../../lib/client';
import { phaseText } from '../../lib/phases';
import type { RatingTarget } from '../../app/app.svelte';
import { RetrainState } from './retrain.svelte';
import { CampaignItemsState } from './campaignItems.svelte';
import { RatingsExportState } from './ratingsExport.svelte';

/** How often an open campaign is asked for again while its page is visible: ratings come from elsewhere. */
const POLL_MS = 4000;
/**
 * Agreement figures (bootstrap intervals: the costly call) are asked for again when the ratings
 * count moves, and at least this often anyway, since an edited rating leaves the count as it was.
 */
const AGREEMENT_MAX_AGE_MS = 30_000;

/** A personal link just made: shown once, since only its hash is kept. */
export interface NewLink {
  annotator: string;
  /** The whole link when this page has an http(s) origin to build it from; else null (Electron's window). */
  url: string | null;
  token: string;
}

/**
 * One campaign's page: its summary and agreement figures, asked for again every few seconds while
 * the page is visible (ratings arrive from other browsers), the annotators' links, and rating as
 * someone from this window.
 */
export class CampaignView {
  readonly name: string;
  readonly exporter: RatingsExportState;
  readonly retrain: RetrainState;
  readonly items: CampaignItemsState;
  readonly #client: Client;
  readonly #rate: (target: RatingTarget) => void;
  readonly #origin: () => string;

  #summary = $state.raw<CampaignSummary | null>(null);
  #agreement = $state.raw<AgreementSummary[] | null>(null);
  #loadError = $state.raw<AppErrorShape | null>(null);
  #refreshing = $state.raw(false);
  #progress = $state.raw<JobProgress | null>(null);
  #known = $state.raw<Array<{ id: number; name: string }>>([]);

  newName = $state('');
  #adding = $state.raw(false);
  #addError = $state.raw<AppErrorShape | null>(null);
  #link = $state.raw<NewLink | null>(null);

  /** Whose link is being revoked, how the last revocation went, and its error. */
  #revoking = $state.raw<string | null>(null);
  #revoked = $state.raw<{ annotator: string; revoked: boolean } | null>(null);
  #revokeError = $state.raw<AppErrorShape | null>(null);

  rateName = $state('');
  #rating = $state.raw(false);
  #rateError = $state.raw<AppErrorShape | null>(null);

  /** Ratings count the agreement figures were computed at, and when. */
  #agreementAt = -1;
  #agreementTime = 0;
  #inflight = false;
  #closed = false;

  readonly ready = $derived(this.#summary?.status === 'ready');
  readonly fraction: number | null = $derived.by(() => {
    const s = this.#summary;
    return s && s.target > 0 ? Math.min(1, s.done / s.target) : null;
  });
  /** What the preparation job is doing ("Sampling sys-alpha · 3 of 6"); '' when not said. */
  readonly phase: string = $derived(this.#progress ? phaseText(this.#progress) : '');
  readonly progressFraction: number | null = $derived.by(() => {
    const p = this.#progress;
    return p && p.total !== null && p.total > 0 ? Math.min(1, p.done / p.total) : null;
  });
  readonly newNameProblem: string | null = $derived.by(() => nameProblem(this.newName));
  readonly rateNameProblem: string | null = $derived.by(() => nameProblem(this.rateName));
  readonly canAdd = $derived(
    this.newName.trim() !== '' && this.newNameProblem === null && !this.#adding && this.#summary !== null,
  );
  readonly canRate = $derived(
    this.rateName.trim() !== '' && this.rateNameProblem === null && !this.#rating && this.ready,
  );
  /** Names to offer for "Rate as": the campaign's annotators first, then everyone else the project knows. */
  readonly suggestions: string[] = $derived.by(() => {
    const members = this.#summary?.annotators.map((a) => a.name) ?? [];
    return [...new Set([...members, ...this.#known.map((a) => a.name)])];
  });

  constructor(
    client: Client,
    name: string,
    known: CampaignSummary | null,
    rate: (target: RatingTarget) => void,
    origin: () => string,
  ) {
    this.#client = client;
    this.name = name;
    this.#summary = known;
    this.#rate = rate;
    this.#origin = origin;
    this.exporter = new RatingsExportState(client, name);
    this.retrain = new RetrainState(client, name, () => this.#summary?.systems ?? null);
    this.items = new CampaignItemsState(client, name);
  }

  get summary(): CampaignSummary | null {
    return this.#summary;
  }
  get agreement(): AgreementSummary[] | null {
    return this.#agreement;
  }
  get loadError(): AppErrorShape | null {
    return this.#loadError;
  }
  get refreshing(): boolean {
    return this.#refreshing;
  }
  get adding(): boolean {
    return this.#adding;
  }
  get addError(): AppErrorShape | null {
    return this.#addError;
  }
  get link(): NewLink | null {
    return this.#link;
  }
  get rating(): boolean {
    return this.#rating;
  }
  get rateError(): AppErrorShape | null {
    return this.#rateError;
  }

  /**
   * Asks for the campaign again now and then every few seconds while the document is visible, and
   * at once when it becomes visible again; the returned function stops it.
   */
  watch(): () => void {
    void this.refresh(true);
    void this.#loadKnown();
    const tick = (): void => {
      if (document.visibilityState === 'visible') void this.refresh();
    };
    const timer = setInterval(tick, POLL_MS);
    document.addEventListener('visibilitychange', tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
    };
  }

  /** The summary, and the agreement figures when ratings have come since they were computed (or when `all`). */
  async refresh(all = false): Promise<void> {
    if (this.#inflight || this.#closed) return;
    this.#inflight = true;
    // Only an asked-for refresh shows on the button: the background poll every few seconds would make it flicker.
    this.#refreshing = all;
    try {
      const summary = await this.#client.call('campaigns.get', { campaign: this.name });
      if (this.#closed) return;
      this.#summary = summary;
      if (summary.status !== 'preparing') this.#progress = null;
      const stale = summary.ratings !== this.#agreementAt || Date.now() - this.#agreementTime > AGREEMENT_MAX_AGE_MS;
      if (summary.status === 'ready' && (all || stale)) {
        const agreement = await this.#client.call('campaigns.agreement', { campaign: this.name });
        if (this.#closed) return;
        this.#agreement = agreement;
        this.#agreementAt = summary.ratings;
        this.#agreementTime = Date.now();
      }
      this.#loadError = null;
    } catch (error) {
      if (!this.#closed) this.#loadError = errorShape(error);
    } finally {
      this.#inflight = false;
      this.#refreshing = false;
    }
  }

  onProgress(progress: JobProgress): void {
    if (this.#closed || progress.kind !== 'campaign') return;
    const jobId = this.#summary?.jobId;
    if (jobId === undefined || jobId === null || jobId === progress.jobId) this.#progress = progress;
  }

  onJobFinished(job: Job): void {
    if (this.#closed || job.kind !== 'campaign' || (this.#summary?.jobId ?? job.id) !== job.id) return;
    this.#progress = null;
    void this.refresh(true);
  }

  /** Adds the annotator named (or gives them a new link): the link is shown once, here. */
  async addAnnotator(): Promise<void> {
    if (!this.canAdd) return;
    const name = this.newName.trim();
    this.#adding = true;
    this.#addError = null;
    try {
      const { annotator, token } = await this.#client.call('annotators.add', { campaign: this.name, name, link: true });
      if (this.#closed) return;
      if (token === null) throw new Error('the backend made no link');
      const origin = this.#origin();
      this.#link = {
        annotator: annotator.name,
        token,
        url: /^https?:\/\//.test(origin) ? `${origin}/#rate=${token}` : null,
      };
      this.newName = '';
      void this.refresh();
      void this.#loadKnown();
    } catch (error) {
      if (!this.#closed) this.#addError = errorShape(error);
    } finally {
      this.#adding = false;
    }
  }

  dismissLink(): void {
    this.#link = null;
  }

  get revoking(): string | null {
    return this.#revoking;
  }

  get revoked(): { annotator: string; revoked: boolean } | null {
    return this.#revoked;
  }

  get revokeError(): AppErrorShape | null {
    return this.#revokeError;
  }

  /** Revokes the annotator's personal link: refused from its next request; their ratings stay. */
  async revokeLink(name: string): Promise<void> {
    if (this.#revoking !== null) return;
    this.#revoking = name;
    this.#revokeError = null;
    this.#revoked = null;
    try {
      const { annotator, revoked } = await this.#client.call('annotators.revoke', { campaign: this.name, name });
      if (this.#closed) return;
      this.#revoked = { annotator: annotator.name, revoked };
      // The link just shown is the one revoked: it is no use any more.
      if (this.#link?.annotator === annotator.name) this.#link = null;
      void this.refresh();
    } catch (error) {
      if (!this.#closed) this.#revokeError = errorShape(error);
    } finally {
      this.#revoking = null;
    }
  }

  /** Rates in this window as one of the campaign's annotators: no link is made or replaced. */
  rateAsMember(annotator: number): void {
    if (!this.ready) return;
    this.#rate({ campaign: this.name, annotator });
  }

  /** Rates as the annotator named: a member as they are; anyone else joins the campaign without a link. */
  async rateAs(): Promise<void> {
    if (!this.canRate) return;
    const name = this.rateName.trim();
    const member = this.#summary?.annotators.find((a) => a.name === name);
    if (member) return this.rateAsMember(member.id);
    this.#rating = true;
    this.#rateError = null;
    try {
      // link: false leaves no token behind: this person rates here, in the studio's own window.
      const { annotator } = await this.#client.call('annotators.add', { campaign: this.name, name, link: false });
      if (this.#closed) return;
      this.#rate({ campaign: this.name, annotator: annotator.id });
    } catch (error) {
      if (!this.#closed) this.#rateError = errorShape(error);
    } finally {
      this.#rating = false;
    }
  }

  close(): void {
    this.#closed = true;
  }

  async #loadKnown(): Promise<void> {
    try {
      const known = await this.#client.call('annotators.list', {});
      if (!this.#closed) this.#known = known;
    } catch {
      // Only suggestions: the campaign's own annotators are still offered.
    }
  }
}

/** Which message, if any, the contract has for an annotator's name; none while it is still empty. */
function nameProblem(name: string): string | null {
  if (name.trim() === '') return null;
  const checked = z.object({ name: CampaignCreate.shape.name }).safeParse({ name: name.trim() });
  return checked.success ? null : (checked.error.issues[0]?.message ?? 'not a valid name');
}
