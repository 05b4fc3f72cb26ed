import {
  GenerateSettings,
  type AppErrorShape,
  type GenerateResult,
  type ModelSummary,
} from '../../../../shared/contract';
import { errorShape, type Client } from '../../lib/client';
import { fieldIssues } from '../../lib/issues';
import { chosenOrFirst } from '../../lib/choice';
import { JobRun } from '../../app/jobRun.svelte';

/** Hugging Face's defaults, as the contract has them. */
export const settingsDefaults: GenerateSettings = GenerateSettings.parse({});

export const numberSettings = ['maxNewTokens', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'seed'] as const;
export type NumberSetting = (typeof numberSettings)[number];

/** What a generate job answers (the contract's jobResults.generate): one generation per prompt, and the tensor backend it ran on. */
export type { GenerateResult };

function defaultNumbers(): Record<NumberSetting, number | null> {
  const { maxNewTokens, temperature, topK, topP, repetitionPenalty, seed } = settingsDefaults;
  return { maxNewTokens, temperature, topK, topP, repetitionPenalty, seed };
}

/** Quiet time after the last keystroke before the prompt is tokenized. */
const TOKENIZE_DELAY_MS = 250;

/** The prompt's tokens under one model, asked for again a moment after each change. */
export class PromptTokens {
  readonly #client: Client;
  #ids = $state.raw<number[]>([]);
  #tokens = $state.raw<string[]>([]);
  #pending = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);
  #timer: ReturnType<typeof setTimeout> | null = null;
  // Answers can overtake each other while someone types; only the latest request counts.
  #request = 0;

  constructor(client: Client) {
    this.#client = client;
  }

  get ids(): number[] {
    return this.#ids;
  }
  get tokens(): string[] {
    return this.#tokens;
  }
  get pending(): boolean {
    return this.#pending;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }

  /** Tokenizes `text` with `model` soon, replacing any request not yet sent or answered. */
  follow(model: string, text: string): void {
    const request = ++this.#request;
    this.stop();
    if (model === '' || text === '') {
      this.#ids = [];
      this.#tokens = [];
      this.#error = null;
      this.#pending = false;
      return;
    }
    this.#pending = true;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#tokenize(request, model, text);
    }, TOKENIZE_DELAY_MS);
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #tokenize(request: number, model: string, text: string): Promise<void> {
    try {
      const { ids, tokens } = await this.#client.call('models.tokenize', { model, text });
      if (request !== this.#request) return;
      this.#ids = ids;
      this.#tokens = tokens;
      this.#error = null;
    } catch (error) {
      if (request !== this.#request) return;
      this.#error = errorShape(error);
    } finally {
      if (request === this.#request) this.#pending = false;
    }
  }
}

/** "Try a prompt": a model, a prompt, decoding settings, and the generate job they start. */
export class TryPromptState {
  readonly #client: Client;
  readonly #models: () => ModelSummary[];
  readonly run: JobRun<'generate'>;
  readonly tokens: PromptTokens;

  #model = $state.raw('');
  prompt = $state('');
  greedy = $state(settingsDefaults.greedy);
  /** Deep state: the number inputs bind to its keys one by one; an empty input is null. */
  numbers = $state<Record<NumberSetting, number | null>>(defaultNumbers());
  /** The prompt and model the shown response was generated from. */
  #asked = $state.raw<{ model: string; prompt: string } | null>(null);

  readonly model = $derived.by(() => chosenOrFirst(this.#models(), this.#model));
  readonly summary: ModelSummary | null = $derived.by(() => this.#models().find((m) => m.name === this.model) ?? null);
  readonly problems: Partial<Record<NumberSetting, string>> = $derived.by(() => {
    const numbers = this.numbers;
    const checked = GenerateSettings.safeParse(this.#settingsInput());
    const problems = checked.success ? {} : fieldIssues(checked.error, numberSettings, numbers);
    // The reply needs room in the context: the backend keeps the end of the prompt, never less than one token.
    const context = this.summary?.shape.context;
    const max = numbers.maxNewTokens;
    if (problems.maxNewTokens === undefined && context !== undefined && max !== null && max >= context) {
      return { ...problems, maxNewTokens: `less than the model's context of ${context}` };
    }
    return problems;
  });
  readonly canSubmit = $derived.by(
    () => this.model !== '' && this.prompt !== '' && Object.keys(this.problems).length === 0 && !this.run.busy,
  );

  constructor(client: Client, models: () => ModelSummary[]) {
    this.#client = client;
    this.#models = models;
    this.run = new JobRun(client, 'generate', 'the generation');
    this.tokens = new PromptTokens(client);
  }

  get modelChoice(): string {
    return this.model;
  }
  set modelChoice(value: string) {
    this.#model = value;
  }
  get asked(): { model: string; prompt: string } | null {
    return this.#asked;
  }

  /** Picks a model if none is chosen yet, such as one just created. */
  offer(model: string): void {
    if (this.#model === '') this.#model = model;
  }

  resetSettings(): void {
    this.greedy = settingsDefaults.greedy;
    this.numbers = defaultNumbers();
  }

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    const settings = GenerateSettings.safeParse(this.#settingsInput());
    if (!settings.success) return;
    const model = this.model;
    const prompt = this.prompt;
    this.#asked = { model, prompt };
    await this.run.run(() =>
      this.#client.call('models.generate', { model, prompts: [prompt], settings: settings.data }),
    );
  }

  #settingsInput(): Record<string, unknown> {
    const input: Record<string, unknown> = { greedy: this.greedy };
    for (const key of numberSettings) {
      // Sampling's own settings do not count while decoding greedily; the contract's defaults stand in.
      if (this.greedy && (key === 'temperature' || key === 'topK' || key === 'topP' || key === 'seed')) continue;
      // A missing key would take the schema's default, so an emptied field is sent as NaN to be refused.
      input[key] = this.numbers[key] ?? Number.NaN;
    }
    return input;
  }
}
