import { z } from 'zod';
import { algos, type Algo, type Output } from '../../../shared/contract';
import type { Client } from '../lib/client';
import { JobRun } from './jobRun.svelte';

export type Retrained = Output<'campaigns.retrain'>;

/**
 * One campaign's "retrain" action: its ratings become rewards, the algorithm trains from the
 * reference on them, and the run's end brings a follow-up campaign of the new model against the
 * reference. The run is followed like any job; the follow-up's name is known from the start.
 */
export class RetrainState {
  readonly #client: Client;
  readonly campaign: string;
  readonly run: JobRun<Record<string, unknown>>;
  #algo = $state.raw<Algo>('a_lol');
  #steps = $state.raw(100);
  #started = $state.raw<Retrained | null>(null);

  readonly algos = algos;

  constructor(client: Client, campaign: string) {
    this.#client = client;
    this.campaign = campaign;
    this.run = new JobRun(client, z.record(z.string(), z.unknown()), 'the retraining run');
  }

  get algo(): Algo {
    return this.#algo;
  }
  set algo(value: Algo) {
    this.#algo = value;
  }
  get steps(): number {
    return this.#steps;
  }
  set steps(value: number) {
    this.#steps = value;
  }
  get started(): Retrained | null {
    return this.#started;
  }

  async start(): Promise<void> {
    await this.run.run(async () => {
      const started = await this.#client.call('campaigns.retrain', { campaign: this.campaign, algo: this.#algo, steps: this.#steps });
      this.#started = started;
      return started;
    });
  }
}
