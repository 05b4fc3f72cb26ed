import { z } from 'zod';
import {
  algos,
  LoraSettings,
  loraTargets,
  pairsModes,
  RunConfig,
  type Algo,
  type PairsMode,
  type AppErrorShape,
  type DatasetSummary,
  type ModelSummary,
  type PromptFormat,
} from '../../../../shared/contract';
import { defaultLoraTargets, loraLayerModules, loraTargetsProblem } from '../../../../shared/lora';
import { algoInfo, type AlgoInfo } from './algos';
import {
  hyperparameterNames,
  loadsReference,
  usesHyperparameter,
  type HyperparameterName,
} from '../../../../shared/algorithms';
import { errorShape, type Client } from '../../lib/client';
import { fieldIssues } from '../../lib/issues';
import { chosenOrFirst } from '../../lib/choice';

export type RunInput = z.input<typeof RunConfig>;
export type RunKey = keyof RunInput;

/** Chosen from the project's lists or typed as names: the form's first rows. */
export type BasicKey = 'algo' | 'data' | 'dataVersion' | 'pairs' | 'init' | 'ref' | 'out' | 'format' | 'lora';
/** Everything else: the run's settings, each with the contract's default. */
export type SettingKey = Exclude<RunKey, BasicKey>;
export type NumberKey = { [K in SettingKey]-?: NonNullable<RunInput[K]> extends number ? K : never }[SettingKey];
export type TextKey = Exclude<SettingKey, NumberKey>;

/** Where a setting shows: with the training settings, with the value head's, or under "Advanced". */
export type Place = 'training' | 'value' | 'advanced';

/** What decides whether a setting means anything for the run being set up. */
export interface FieldContext {
  algo: Algo;
  info: AlgoInfo;
  schedule: string;
  reward: string;
}

/** Rewards the data carries itself (a column, a pair's label): no function to score decodes with. */
export const isDataReward = (reward: string): boolean => reward.trim() === 'column' || reward.trim() === 'label';

/** Value targets come from reference decodes unless the reward is the data's own. */
const decodes = (c: FieldContext): boolean => c.info.signal === 'advantage' && !isDataReward(c.reward);

/**
 * Labels and places: the form's own words. A Record over the contract's keys, so a field added to
 * RunConfig fails the type check until it has a place here. Types, bounds, defaults and help come
 * from the contract's schema (fieldSpecs), never from here.
 */
export const settingFields: Record<SettingKey, { label: string; place: Place; uses?: (c: FieldContext) => boolean }> = {
  steps: { label: 'Steps', place: 'training' },
  batch: { label: 'Batch', place: 'training' },
  lr: { label: 'Learning rate', place: 'training' },
  reward: { label: 'Reward', place: 'training', uses: (c) => c.info.signal !== null },
  // The algorithm table says who uses each; the contract refuses them for the others.
  eps: { label: 'Clip ε', place: 'training', uses: (c) => usesHyperparameter(c.algo, 'eps') },
  beta: { label: 'DPO β', place: 'training', uses: (c) => usesHyperparameter(c.algo, 'beta') },
  klBeta: { label: 'KL β', place: 'training', uses: (c) => usesHyperparameter(c.algo, 'klBeta') },
  valueEpochs: { label: 'Value epochs', place: 'value', uses: (c) => c.info.signal === 'advantage' },
  valueDecodes: { label: 'Decodes per prompt', place: 'value', uses: decodes },
  maxNewTokens: { label: 'Max new tokens', place: 'value', uses: decodes },
  schedule: { label: 'Schedule', place: 'advanced' },
  warmup: { label: 'Warmup steps', place: 'advanced', uses: (c) => c.schedule === 'cosine' },
  gradAccum: { label: 'Gradient accumulation', place: 'advanced' },
  weightDecay: { label: 'Weight decay', place: 'advanced' },
  maxGradNorm: { label: 'Max grad norm', place: 'advanced' },
  seed: { label: 'Seed', place: 'advanced' },
  checkpointEvery: { label: 'Checkpoint every', place: 'advanced' },
};

export const basicLabels: Record<BasicKey, string> = {
  algo: 'Algorithm',
  data: 'Dataset',
  dataVersion: 'Version',
  pairs: 'Responses',
  init: 'Start from',
  ref: 'Reference',
  out: 'Out model',
  format: 'Prompt format',
  lora: 'Adapters (LoRA)',
};

function isBasicKey(key: RunKey): key is BasicKey {
  return Object.hasOwn(basicLabels, key);
}

/** False for a hyperparameter the algorithm does not use (its run has no such setting). */
export function appliesTo(algo: Algo, key: RunKey): boolean {
  return (
    !(hyperparameterNames as readonly string[]).includes(key) || usesHyperparameter(algo, key as HyperparameterName)
  );
}

export function fieldLabel(key: RunKey): string {
  return isBasicKey(key) ? basicLabels[key] : settingFields[key].label;
}

export interface FieldSpec {
  type: 'integer' | 'number' | 'string';
  /** The contract's help line (its .describe()). */
  help: string;
  default: unknown;
  /** The allowed values of an enum field. */
  options: string[] | null;
  /** Bounds for the input's min and max; the contract still decides (an exclusive 0 shows as 0). */
  min: number | null;
  max: number | null;
}

/** The contract's RunConfig as JSON Schema, the input side: what may be sent, with defaults and help. */
const jsonSchema = z.toJSONSchema(RunConfig, { io: 'input' });

function specOf(key: RunKey): FieldSpec {
  const property = jsonSchema.properties?.[key];
  if (typeof property !== 'object') throw new Error(`RunConfig's JSON schema has no field "${key}"`);
  const { type, minimum, maximum, exclusiveMinimum, exclusiveMaximum } = property;
  return {
    type: type === 'integer' || type === 'number' ? type : 'string',
    help: property.description ?? '',
    default: property.default,
    options: property.enum?.filter((value): value is string => typeof value === 'string') ?? null,
    min: minimum ?? (typeof exclusiveMinimum === 'number' ? exclusiveMinimum : null),
    // An int() with no maximum of its own carries the largest safe integer: no bound worth showing.
    max:
      maximum !== undefined && maximum < Number.MAX_SAFE_INTEGER
        ? maximum
        : typeof exclusiveMaximum === 'number'
          ? exclusiveMaximum
          : null,
  };
}

function isRunKey(key: string): key is RunKey {
  return Object.hasOwn(RunConfig.shape, key);
}

/** Every field, in the contract's order. */
export const runKeys: RunKey[] = Object.keys(RunConfig.shape).filter(isRunKey);
// Object.fromEntries loses the keys' type; the entries are one per RunKey, from runKeys.
export const fieldSpecs = Object.fromEntries(runKeys.map((key) => [key, specOf(key)])) as Record<RunKey, FieldSpec>;

export const settingKeys: SettingKey[] = runKeys.filter((key): key is SettingKey => !isBasicKey(key));

export function isNumberKey(key: SettingKey): key is NumberKey {
  return fieldSpecs[key].type !== 'string';
}

const numberKeys: NumberKey[] = settingKeys.filter(isNumberKey);
const textKeys: TextKey[] = settingKeys.filter((key): key is TextKey => !isNumberKey(key));

function defaultNumbers(): Record<NumberKey, number | null> {
  const numbers: Partial<Record<NumberKey, number | null>> = {};
  for (const key of numberKeys) {
    const value = fieldSpecs[key].default;
    numbers[key] = typeof value === 'number' ? value : null;
  }
  // Filled key by key from the list the schema gave, which is every NumberKey.
  return numbers as Record<NumberKey, number | null>;
}

function defaultTexts(): Record<TextKey, string> {
  const texts: Partial<Record<TextKey, string>> = {};
  for (const key of textKeys) {
    const value = fieldSpecs[key].default;
    texts[key] = typeof value === 'string' ? value : '';
  }
  // As above: every TextKey, from the schema.
  return texts as Record<TextKey, string>;
}

/** Reward functions every project has; a scoring module FILE.mjs in the project folder is typed. */
export const rewardSuggestions = ['column', 'label', 'demo'] as const;

/** The pairs select's choices: '' is the dataset's own single-response examples. */
export const pairsChoices: readonly (PairsMode | '')[] = ['', ...pairsModes];

export type LoraTarget = (typeof loraTargets)[number];
export type LoraNumberKey = 'r' | 'alpha' | 'dropout';
/** The LoRA fields' problems, each under its own key (targets: the checkboxes together). */
export type LoraProblems = Partial<Record<LoraNumberKey | 'targets', string>>;
const loraKeys = ['r', 'alpha', 'dropout', 'targets'] as const;
/** PEFT's LoraConfig defaults, as alol train's flags have them. */
const defaultLoraNumbers = (): Record<LoraNumberKey, number | null> => ({ r: 8, alpha: 8, dropout: 0 });

/** The "New run" form: every field of RunConfig, and the runs.start call it makes. */
export class RunFormState {
  readonly #client: Client;
  readonly #models: () => ModelSummary[];
  readonly #datasets: () => DatasetSummary[];
  readonly #onStarted: (runId: number) => void;

  algo = $state<Algo>(algos[0]);
  #data = $state.raw('');
  /** null: the dataset's latest version. */
  #dataVersion = $state.raw<number | null>(null);
  /** '': no choice made (the dataset's examples, or both sides of its pairs when it has no examples). */
  #pairs = $state.raw<PairsMode | ''>('');
  #init = $state.raw('');
  /** '': the init model is the reference too. */
  #ref = $state.raw('');
  #out = $state.raw('');
  #outTouched = $state.raw(false);
  /** '': the start model's default (chat where it has a chat template, else raw). */
  #format = $state.raw<PromptFormat | ''>('');
  /** LoRA: adapters on the frozen start model, which is then the reference; off: full fine-tuning. */
  loraOn = $state.raw(false);
  loraNumbers = $state<Record<LoraNumberKey, number | null>>(defaultLoraNumbers());
  /** null: the start model's family's default (PEFT's: q,v; GPT-2's c_attn, q,k,v). */
  #loraTargets = $state.raw<LoraTarget[] | null>(null);
  /** Deep state: the inputs bind to their keys one by one; an empty number input is null. */
  numbers = $state<Record<NumberKey, number | null>>(defaultNumbers());
  texts = $state<Record<TextKey, string>>(defaultTexts());

  #starting = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);

  readonly info: AlgoInfo = $derived(algoInfo[this.algo]);
  /** Whether the run loads pi_ref: for log-probs in its loss or for its value head (a_lol_ref_free). */
  readonly loadsReference = $derived(loadsReference(this.algo));
  readonly data = $derived.by(() => chosenOrFirst(this.#datasets(), this.#data));
  readonly dataset: DatasetSummary | null = $derived.by(
    () => this.#datasets().find((d) => d.name === this.data) ?? null,
  );
  readonly dataVersion = $derived.by(() => {
    const latest = this.dataset?.version ?? 1;
    return this.#dataVersion !== null && this.#dataVersion < latest ? this.#dataVersion : null;
  });
  /** Whether the run may train on the dataset's pairs' responses: a single-response algorithm on data with pairs. */
  readonly pairsApply = $derived(!this.info.pairs && (this.dataset?.pairs ?? 0) > 0);
  /** The responses a single-response run takes from the pairs; '' for the dataset's examples. */
  readonly pairs: PairsMode | '' = $derived.by(() => {
    if (!this.pairsApply) return '';
    if (this.#pairs !== '') return this.#pairs;
    // A pairs-only dataset has nothing else to offer: both sides, as the paper trains on them.
    return this.dataset?.examples === 0 ? 'both' : '';
  });
  readonly init = $derived.by(() => chosenOrFirst(this.#models(), this.#init));
  readonly initModel: ModelSummary | null = $derived.by(() => this.#models().find((m) => m.name === this.init) ?? null);
  /** The start model's family decides which projections a LoRA target names. */
  readonly family = $derived(this.initModel?.shape.family ?? 'llama');
  readonly loraTargets: LoraTarget[] = $derived(this.#loraTargets ?? defaultLoraTargets[this.family]);
  /** The format a run gets when none is chosen: the start model's default. */
  readonly defaultFormat: PromptFormat = $derived(this.initModel?.chatTemplate ? 'chat' : 'raw');
  readonly format = $derived(this.#format);
  readonly ref = $derived.by(() => (this.#models().some((m) => m.name === this.#ref) ? this.#ref : ''));
  /** "base-a_lol", or "base-a_lol-2" when that model exists: a name to keep or change. */
  readonly suggestedOut = $derived.by(() => {
    if (this.init === '') return '';
    const taken = new Set(this.#models().map((m) => m.name));
    const stem = `${this.init}-${this.algo}`.slice(0, 90);
    let name = stem;
    for (let k = 2; taken.has(name); k++) name = `${stem}-${k}`;
    return name;
  });
  readonly out = $derived(this.#outTouched ? this.#out : this.suggestedOut);

  /** The settings that mean something for this algorithm, by place, in the contract's order. */
  readonly shown: Record<Place, SettingKey[]> = $derived.by(() => {
    const context: FieldContext = {
      algo: this.algo,
      info: this.info,
      schedule: this.texts.schedule,
      reward: this.texts.reward,
    };
    const shown: Record<Place, SettingKey[]> = { training: [], value: [], advanced: [] };
    for (const key of settingKeys) {
      const field = settingFields[key];
      if (field.uses?.(context) ?? true) shown[field.place].push(key);
    }
    return shown;
  });

  /** What runs.start would get: the basics, and the settings shown (the rest keep their defaults). */
  readonly input: Record<string, unknown> = $derived.by(() => {
    const input: Record<string, unknown> = { algo: this.algo, data: this.data, init: this.init, out: this.out.trim() };
    if (this.dataVersion !== null) input.dataVersion = this.dataVersion;
    if (this.pairs !== '') input.pairs = this.pairs;
    // Under LoRA the frozen start model is the reference: no other may be named.
    if (this.loadsReference && this.ref !== '' && !this.loraOn) input.ref = this.ref;
    if (this.format !== '') input.format = this.format;
    if (this.loraOn) input.lora = this.loraInput;
    for (const key of [...this.shown.training, ...this.shown.value, ...this.shown.advanced]) {
      // A missing key would take the schema's default, so an emptied field is sent as NaN to be refused.
      input[key] = isNumberKey(key) ? (this.numbers[key] ?? Number.NaN) : this.texts[key].trim();
    }
    return input;
  });

  /** What RunConfig.lora gets; an emptied number is sent as NaN, to be refused. */
  readonly loraInput = $derived({
    r: this.loraNumbers.r ?? Number.NaN,
    alpha: this.loraNumbers.alpha ?? Number.NaN,
    dropout: this.loraNumbers.dropout ?? Number.NaN,
    targets: this.loraTargets,
  });

  /** The contract's complaints about the LoRA fields, and the start model's family's (shared/lora.ts). */
  readonly loraProblems: LoraProblems = $derived.by(() => {
    if (!this.loraOn) return {};
    const checked = LoraSettings.safeParse(this.loraInput);
    const problems: LoraProblems = checked.success
      ? {}
      : fieldIssues(checked.error, loraKeys, { ...this.loraNumbers, targets: this.loraTargets });
    if (this.loraTargets.length === 0) problems.targets = 'choose at least one projection';
    const familyProblem = loraTargetsProblem(this.family, this.loraTargets);
    if (problems.targets === undefined && familyProblem !== null) problems.targets = familyProblem;
    return problems;
  });

  /** The contract's complaint per field, and the project's (a name taken, data the algorithm cannot use). */
  readonly problems: Partial<Record<RunKey, string>> = $derived.by(() => {
    const checked = RunConfig.safeParse(this.input);
    const values: Record<RunKey, unknown> = {
      algo: this.algo,
      data: this.data,
      dataVersion: this.dataVersion,
      pairs: this.pairs,
      init: this.init,
      ref: this.ref,
      out: this.out.trim() === '' ? null : this.out,
      format: this.format,
      lora: this.loraOn ? this.loraInput : null,
      ...this.numbers,
      ...this.texts,
    };
    const problems = checked.success ? {} : fieldIssues(checked.error, runKeys, values);
    // A name not typed yet is no mistake: the button waits for it. Without datasets or models the
    // selects are empty, and their hints say where to get one.
    if (this.out.trim() === '' && !this.#outTouched) delete problems.out;
    if (this.data === '') delete problems.data;
    if (this.init === '') delete problems.init;
    // The LoRA fields say what is wrong each (loraProblems); the run waits while any does.
    delete problems.lora;
    const loraProblem = Object.values(this.loraProblems)[0];
    if (loraProblem !== undefined) problems.lora = loraProblem;
    if (this.format === 'chat' && this.initModel && !this.initModel.chatTemplate)
      problems.format = `${this.init} has no chat template: use raw`;
    if (problems.out === undefined && this.#models().some((m) => m.name === this.out.trim())) {
      problems.out = 'a model of this name exists already';
    }
    const dataset = this.dataset;
    // Older versions are not in the list; the backend checks those.
    if (problems.data === undefined && dataset && this.dataVersion === null) {
      const reward = this.texts.reward.trim();
      if (this.info.pairs && dataset.pairs === 0)
        problems.data = `${this.algo} trains on preference pairs, and this dataset has none`;
      else if (!this.info.pairs && this.pairs === '' && dataset.examples === 0)
        problems.data = `${this.algo} trains on single responses, and this dataset has none`;
      else if (problems.reward === undefined && this.info.signal !== null) {
        if (this.pairs !== '' && reward === 'column')
          problems.reward = 'pairs carry no reward column: use label (chosen 1, rejected 0), rm:NAME or a function';
        else if (this.pairs === '' && reward === 'label')
          problems.reward = 'label is a pair’s own label: choose the pairs’ responses under Responses';
        else if (this.pairs === '' && reward === 'column' && dataset.summary.rewardMin === null)
          problems.reward = 'this dataset has no reward column: name a reward function';
      }
    }
    return problems;
  });

  readonly canSubmit = $derived(
    !this.#starting &&
      this.data !== '' &&
      this.init !== '' &&
      this.out.trim() !== '' &&
      Object.keys(this.problems).length === 0,
  );

  constructor(
    client: Client,
    models: () => ModelSummary[],
    datasets: () => DatasetSummary[],
    onStarted: (runId: number) => void,
  ) {
    this.#client = client;
    this.#models = models;
    this.#datasets = datasets;
    this.#onStarted = onStarted;
  }

  get dataChoice(): string {
    return this.data;
  }
  set dataChoice(value: string) {
    this.#data = value;
    this.#dataVersion = null;
    this.#pairs = '';
  }
  /** The version select's value: '' for the latest. */
  get versionChoice(): string {
    return this.dataVersion === null ? '' : String(this.dataVersion);
  }
  set versionChoice(value: string) {
    this.#dataVersion = value === '' ? null : Number(value);
  }
  /** The Responses select's value. */
  get pairsChoice(): PairsMode | '' {
    return this.pairs;
  }
  set pairsChoice(value: PairsMode | '') {
    this.#pairs = value;
  }
  get initChoice(): string {
    return this.init;
  }
  set initChoice(value: string) {
    this.#init = value;
    // Another family names other projections: its own default targets again.
    this.#loraTargets = null;
  }
  /** The format select's value: '' for the start model's default. */
  get formatChoice(): PromptFormat | '' {
    return this.#format;
  }
  set formatChoice(value: PromptFormat | '') {
    this.#format = value;
  }

  /** Whether the start model's family has the projection a target names (GPT-2 has no gate). */
  targetApplies(target: LoraTarget): boolean {
    return loraLayerModules[this.family][target] !== null;
  }

  /** The module a target adapts in the start model's family: "self_attn.q_proj", GPT-2's "attn.c_attn". */
  targetModule(target: LoraTarget): string {
    return loraLayerModules[this.family][target] ?? 'none';
  }

  /**
   * Checks or unchecks a target. On GPT-2 q, k and v are one fused c_attn, adapted as a whole: they
   * go on and off together.
   */
  setTarget(target: LoraTarget, on: boolean): void {
    const module = loraLayerModules[this.family][target];
    const together = loraTargets.filter(
      (t) => t === target || (module !== null && loraLayerModules[this.family][t] === module),
    );
    const next = new Set(this.loraTargets);
    for (const t of together) {
      if (on) next.add(t);
      else next.delete(t);
    }
    this.#loraTargets = loraTargets.filter((t) => next.has(t));
  }
  get refChoice(): string {
    return this.ref;
  }
  set refChoice(value: string) {
    this.#ref = value;
  }
  get outName(): string {
    return this.out;
  }
  set outName(value: string) {
    this.#out = value;
    this.#outTouched = true;
  }
  get starting(): boolean {
    return this.#starting;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }

  /** Starts a run from another model: a trained one, say, as the next run's reference. */
  startFrom(model: string): void {
    this.#init = model;
  }

  resetSettings(): void {
    this.numbers = defaultNumbers();
    this.texts = defaultTexts();
    this.loraNumbers = defaultLoraNumbers();
    this.#loraTargets = null;
    this.#format = '';
  }

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    const checked = RunConfig.safeParse(this.input);
    if (!checked.success) return;
    this.#starting = true;
    this.#error = null;
    try {
      const { runId } = await this.#client.call('runs.start', checked.data);
      // The next run gets a name of its own; the settings stay, to run a variant.
      this.#outTouched = false;
      this.#out = '';
      this.#onStarted(runId);
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#starting = false;
    }
  }
}
