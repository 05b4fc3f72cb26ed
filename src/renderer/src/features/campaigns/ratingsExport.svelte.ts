import { exportCriteria, ratingsFormats, type Output } from '../../../../shared/contract';
import { RewardRule } from '../../../../shared/rating';
import type { Client } from '../../lib/client';
import { PathExport, type Download } from '../../ui/pathExport.svelte';

export type ExportFormat = (typeof ratingsFormats)[number];
export type ExportCriterion = (typeof exportCriteria)[number];
export type RewardRuleName = RewardRule['rule'];
export type ExportResult = Output<'ratings.export'>;

/** Writing a campaign's ratings to a file on the backend's machine. */
export class RatingsExportState extends PathExport<ExportResult> {
  readonly #client: Client;
  readonly campaign: string;
  format = $state<ExportFormat>('raw');
  /** Which answers decide a derived file, and the rule that turns them into rewards (the raw file takes neither). */
  criterion = $state<ExportCriterion>('both');
  rule = $state<RewardRuleName>(RewardRule.parse({}).rule);

  constructor(client: Client, campaign: string) {
    super();
    this.#client = client;
    this.campaign = campaign;
  }

  protected write(path: string): Promise<ExportResult> {
    return this.#client.call('ratings.export', {
      campaign: this.campaign,
      format: this.format,
      path,
      criterion: this.criterion,
      rule: this.rule,
    });
  }

  override get downloads(): { key: string; label: string }[] {
    return [
      { key: 'rows', label: `${this.campaign}-${this.format}.jsonl` },
      { key: 'card', label: `${this.campaign}-${this.format}.card.md` },
    ];
  }

  protected override async fetchDownload(key: string): Promise<Download> {
    const out = await this.#client.call('ratings.download', {
      campaign: this.campaign,
      format: this.format,
      criterion: this.criterion,
      rule: this.rule,
    });
    if (key === 'card')
      return { filename: out.card.filename, blob: new Blob([out.card.content], { type: 'text/markdown' }) };
    return { filename: out.filename, blob: new Blob([out.content], { type: 'application/jsonl' }) };
  }
}
