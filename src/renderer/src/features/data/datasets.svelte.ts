import type { DatasetSummary, Example, Pair } from '../../../../shared/contract';
import type { Client } from '../../lib/client';
import { PageState } from '../../app/page.svelte';
import { ListedState } from '../../app/listed.svelte';

export type OpenItem = { kind: 'example'; row: Example } | { kind: 'pair'; row: Pair };
export type Tab = 'examples' | 'pairs';

/** One dataset version being browsed: its examples and pairs, page by page, and the row opened in full. */
export class DatasetView {
  readonly summary: DatasetSummary;
  readonly examples: PageState<Example>;
  readonly pairs: PageState<Pair>;
  #tab = $state.raw<Tab>('examples');
  #open = $state.raw<OpenItem | null>(null);

  constructor(client: Client, summary: DatasetSummary) {
    this.summary = summary;
    const { name: dataset, version } = summary;
    this.examples = new PageState((offset, limit) =>
      client.call('datasets.examples', { dataset, version, offset, limit }),
    );
    this.pairs = new PageState((offset, limit) => client.call('datasets.pairs', { dataset, version, offset, limit }));
    // Open on whichever kind of row the dataset has: a preference set has no examples to show.
    this.showTab(summary.examples === 0 && summary.pairs > 0 ? 'pairs' : 'examples');
  }

  get tab(): Tab {
    return this.#tab;
  }
  get open(): OpenItem | null {
    return this.#open;
  }

  showTab(tab: Tab): void {
    this.#tab = tab;
    (tab === 'examples' ? this.examples : this.pairs).ensure();
  }

  openExample(row: Example): void {
    this.#open = { kind: 'example', row };
  }
  openPair(row: Pair): void {
    this.#open = { kind: 'pair', row };
  }
  closeItem(): void {
    this.#open = null;
  }
}

/** The project's datasets and the one selected for browsing. */
export class DatasetsState extends ListedState<DatasetSummary> {
  readonly #client: Client;
  #selected = $state.raw<DatasetView | null>(null);

  constructor(client: Client) {
    super();
    this.#client = client;
  }

  get selected(): DatasetView | null {
    return this.#selected;
  }

  protected fetchList(): Promise<DatasetSummary[]> {
    return this.#client.call('datasets.list', {});
  }

  /** A new version of the dataset being browsed replaces the old view; a vanished one closes it. */
  protected override listed(list: DatasetSummary[]): void {
    const selected = this.#selected;
    if (!selected) return;
    const now = list.find((dataset) => dataset.name === selected.summary.name);
    if (!now) this.#selected = null;
    else if (now.version !== selected.summary.version) this.#selected = new DatasetView(this.#client, now);
  }

  select(name: string): void {
    if (this.#selected?.summary.name === name) return;
    const summary = this.list.find((dataset) => dataset.name === name);
    this.#selected = summary ? new DatasetView(this.#client, summary) : null;
  }

  deselect(): void {
    this.#selected = null;
  }
}
