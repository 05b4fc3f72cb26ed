import type { AppErrorShape, AppInfo } from '../../../shared/contract';
import { errorShape, type Client } from '../lib/client';

export const screens = [
  { id: 'data', label: 'Data', later: null },
  { id: 'models', label: 'Models', later: null },
  { id: 'runs', label: 'Runs', later: null },
  { id: 'samples', label: 'Samples', later: 'Sampled responses arrive here in a later step: generate from trained models and browse what they wrote.' },
  { id: 'campaigns', label: 'Campaigns', later: null },
  { id: 'rate', label: 'Rate', later: null },
  { id: 'results', label: 'Results', later: 'Win rates and reports arrive here in a later step, with confidence intervals and plots.' },
] as const;

export type Screen = (typeof screens)[number];
export interface RatingTarget {
  campaign: string;
  annotator: number;
}
export type ScreenId = Screen['id'];

/** The shell: which screen is shown, and what the backend says about itself. */
export class AppState {
  readonly #client: Client;
  #screen = $state.raw<ScreenId>('data');
  #info = $state.raw<AppInfo | null>(null);
  #infoError = $state.raw<AppErrorShape | null>(null);
  #rating = $state.raw<RatingTarget | null>(null);

  readonly current: Screen = $derived(screens.find((screen) => screen.id === this.#screen) ?? screens[0]);

  constructor(client: Client) {
    this.#client = client;
  }

  get screen(): ScreenId {
    return this.#screen;
  }
  get info(): AppInfo | null {
    return this.#info;
  }
  get infoError(): AppErrorShape | null {
    return this.#infoError;
  }

  /** Whom the desktop user rates as, in which campaign: chosen on the Campaigns screen or the Rate screen. */
  get rating(): RatingTarget | null {
    return this.#rating;
  }

  show(screen: ScreenId): void {
    this.#screen = screen;
  }

  rate(target: RatingTarget): void {
    this.#rating = target;
    this.#screen = 'rate';
  }

  async loadInfo(): Promise<void> {
    try {
      this.#info = await this.#client.call('app.info', {});
      this.#infoError = null;
    } catch (error) {
      this.#infoError = errorShape(error);
    }
  }
}
