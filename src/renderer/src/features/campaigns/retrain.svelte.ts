import { retrainAlgos, isModelSystem, type Algo, type AppErrorShape, type Output } from '../../../../shared/contract';
import type { RetrainPlan } from '../../../../shared/retrainPlan';
import { errorShape, type Client } from '../../lib/client';
import { JobRun } from '../../app/jobRun.svelte';

export type Retrained = Output<'campaigns.retrain'>;

/**
 * One campaign's "retrain" action: its ratings become rewards, the algorithm trains from the
 * reference on them, and the run's end brings a follow-up campaign of the new model against the
 * reference. Before it starts, the plan (campaigns.retrainPlan) names the model and the follow-up,
 * the annotators it keeps, and what falls short of the minimum evidence: then it retrains only when
 * "retrain anyway" (force) is ticked. The run is followed like any job.
 */
export class RetrainState {
  readonly #client: Client;
  readonly campaign: string;
  readonly run: JobRun<'train'>;
  #algo = $state.raw<Algo>('a_lol');
  steps = $state(100);
  force = $state(false);
  #plan = $state.raw<RetrainPlan | null>(null);
  #planError = $state.raw<AppErrorShape | null>(null);
  #started = $state.raw<Retrained | null>(null);
  #planRequest = 0;

  readonly algos = retrainAlgos;
  /** Below the minimums and not forced: the button waits for "retrain anyway". */
  readonly blocked = $derived((this.#plan?.shortfalls.length ?? 0) > 0 && !this.force);
  /** The reference model, when the campaign compares none (a relabelling campaign, sample sets): the user names it. */
  ref = $state('');
  readonly #systems: () => readonly string[] | null;
  readonly needsRef = $derived.by(() => {
    const systems = this.#systems();
    return systems !== null && !systems.some(isModelSystem);
  });

  constructor(client: Client, campaign: string, systems: () => readonly string[] | null) {
    this.#client = client;
    this.campaign = campaign;
    this.#systems = systems;
    this.run = new JobRun(client, 'train', 'the retraining run');
  }

  /** The reference the request names: the chosen one, or none (the campaign's first model). */
  #refInput(): { ref?: string } {
    return this.needsRef && this.ref !== '' ? { ref: this.ref } : {};
  }

  get algo(): Algo {
    return this.#algo;
  }
  set algo(value: Algo) {
    this.#algo = value;
    // The held-out minimum depends on the algorithm (only A-LoL's variants fit a value head).
    void this.loadPlan();
  }
  get plan(): RetrainPlan | null {
    return this.#plan;
  }
  get planError(): AppErrorShape | null {
    return this.#planError;
  }
  get started(): Retrained | null {
    return this.#started;
  }
  get canStart(): boolean {
    return this.#plan !== null && !this.blocked && !this.run.busy && this.steps >= 1;
  }

  /** Asks what a retrain would do now; an answer to an older request is dropped. */
  async loadPlan(): Promise<void> {
    const request = ++this.#planRequest;
    // Without a model among the systems, there is no plan until a reference is chosen.
    if (this.needsRef && this.ref === '') {
      this.#plan = null;
      this.#planError = null;
      return;
    }
    try {
      const plan = await this.#client.call('campaigns.retrainPlan', {
        campaign: this.campaign,
        algo: this.#algo,
        ...this.#refInput(),
      });
      if (request !== this.#planRequest) return;
      this.#plan = plan;
      this.#planError = null;
    } catch (error) {
      if (request === this.#planRequest) this.#planError = errorShape(error);
    }
  }

  async start(): Promise<void> {
    if (!this.canStart) return;
    await this.run.run(async () => {
      const started = await this.#client.call('campaigns.retrain', {
        campaign: this.campaign,
        algo: this.#algo,
        steps: this.steps,
        force: this.force,
        ...this.#refInput(),
      });
      this.#started = started;
      return started;
    });
  }
}
