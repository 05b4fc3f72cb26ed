import type { AppErrorShape, AppInfo } from '../../../shared/contract';
import { errorShape, type Client } from '../lib/client';

export const screens = [
  { id: 'data', label: 'Data' },
  { id: 'models', label: 'Models' },
  { id: 'runs', label: 'Runs' },
  { id: 'samples', label: 'Samples' },
  { id: 'campaigns', label: 'Campaigns' },
  { id: 'rate', label: 'Rate' },
  { id: 'results', label: 'Results' },
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

  /** A screen as a route names it (Back, a reload): the Rate screen with its rater, or without one (the chooser). */
  follow(screen: ScreenId, rating: RatingTarget | null): void {
    if (screen === 'rate') this.#rating = rating;
    this.#screen = screen;
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
