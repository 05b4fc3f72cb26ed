import type { DatasetSummary, ModelSummary } from '../../../../shared/contract';
import type { CampaignSummary } from '../../../../shared/rating';
import type { ItemFilter } from '../../../../shared/itemBrowser';
import type { Client } from '../../lib/client';
import type { RatingTarget } from '../../app/app.svelte';
import { CampaignFormState } from './campaignForm.svelte';
import { CampaignView } from './campaignView.svelte';
import { ListWithForm } from '../../app/listed.svelte';

/** The project's campaigns, the "New campaign" form, and the one campaign whose page is open. */
export class CampaignsState extends ListWithForm<CampaignSummary> {
  readonly form: CampaignFormState;
  readonly #client: Client;
  readonly #rate: (target: RatingTarget) => void;
  readonly #origin: () => string;
  #open = $state.raw<CampaignView | null>(null);

  constructor(
    client: Client,
    models: () => ModelSummary[],
    datasets: () => DatasetSummary[],
    rate: (target: RatingTarget) => void,
    origin: () => string = () => location.origin,
  ) {
    super();
    this.#client = client;
    this.#rate = rate;
    this.#origin = origin;
    this.form = new CampaignFormState(
      client,
      models,
      datasets,
      (name) => this.list.some((c) => c.name === name),
      () => {
        // The form stays open to follow the preparation, though the list is no longer empty.
        this.showForm(true);
        void this.refresh();
      },
      () => void this.refresh(),
    );
    // For the page's life, like the studio itself: campaigns prepared anywhere (the alol command too) show here.
    client.on('jobs.progress', (progress) => this.#open?.onProgress(progress));
    client.on('jobs.finished', (job) => {
      if (job.kind !== 'campaign') return;
      void this.refresh();
      this.#open?.onJobFinished(job);
    });
  }

  get open(): CampaignView | null {
    return this.#open;
  }

  protected fetchList(): Promise<CampaignSummary[]> {
    return this.#client.call('campaigns.list', {});
  }

  openCampaign(name: string): void {
    if (this.#open?.name === name) return;
    this.#open?.close();
    this.#open = new CampaignView(
      this.#client,
      name,
      this.list.find((c) => c.name === name) ?? null,
      this.#rate,
      this.#origin,
    );
  }

  /** Opens a campaign's page with its item browser showing what `filter` selects (the items behind a Results figure). */
  openItems(campaign: string, filter: ItemFilter): void {
    this.openCampaign(campaign);
    this.#open?.items.show(filter);
  }

  closeCampaign(): void {
    this.#open?.close();
    this.#open = null;
    void this.refresh();
  }
}
