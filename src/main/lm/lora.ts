/**
 * LoRA adapters (Hu et al. 2021) on a model's projections, as Hugging Face PEFT computes and
 * stores them:
 *
 *   y = base(x) + (alpha / r) * B (A (dropout(x)))       A: [r, in], B: [out, r]
 *
 * The same on both families: Llama's nn.Linear projections (weight [out, in]) and GPT-2's Conv1D
 * ones (weight [in, out], y = x W + b). PEFT wraps a Conv1D in its Linear layer with
 * fan_in_fan_out = true: A and B keep the shapes above, and only the merge transposes the update,
 * W + (alpha / r) (B A)^T. GPT-2's q, k and v are one fused c_attn, adapted as a whole
 * (shared/lora.ts says which target names which module in each family).
 *
 * A is initialised as PEFT does (nn.init.kaiming_uniform_ with a = sqrt(5): U(-1/sqrt(in),
 * 1/sqrt(in))) and B with zeros, so a fresh adapter changes nothing. The base model's weights are
 * frozen; only the adapters' parameters train, keyed by PEFT's names
 * (`base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`,
 * `base_model.model.transformer.h.N.attn.c_attn.lora_A.weight`), and the base with the adapters
 * switched off is the reference policy: pi_ref costs no second copy of the weights.
 *
 * The adapters hook the model's projections by their checkpoint names (Gpt.linearHook, Llama.linearHook).
 *
 *   const lora = LoraAdapters.attach(model, { r: 8, alpha: 16, dropout: 0.05, targets: ['q', 'v'] }, new Rng(0));
 *   trainStep({ params: lora.params, ... });                 // the base stays as it was
 *   lora.reference().forward(ids);                           // pi_ref: the base alone
 *   writePeftAdapter(dir, lora, 'base-model');               // adapter_config.json + adapter_model.safetensors
 *   const full = lora.merged();                              // the base's weights with the updates merged in
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loraTargets, type LoraSettings } from '../../shared/contract';
import { loraLayerModules, loraTargetsProblem } from '../../shared/lora';
import type { CausalLm, ForwardOptions, ModelFamily } from './causalLm';
import type { NamedTensors } from './config';
import type { Llama } from './llama';
import type { Gpt } from './model';
import { tiedHead } from './ops';
import { readSafetensors, writeSafetensors } from './safetensors';
import type { Rng } from '../core/rng';

export type LoraTarget = LoraSettings['targets'][number];
export const LORA_TARGETS: readonly LoraTarget[] = loraTargets;

export interface LoraConfig {
  /** Rank of A and B. */
  r: number;
  /** Scale numerator: the update is (alpha / r) B A. */
  alpha: number;
  /** Dropout on the adapter's input while training, in [0, 1). */
  dropout: number;
  targets: LoraTarget[];
}

/** PEFT's key prefix before a module's name. */
const PEFT_PREFIX = 'base_model.model.';

/** module: PEFT's module name, e.g. `model.layers.0.self_attn.q_proj` or `transformer.h.0.attn.c_attn`. */
export const loraAName = (module: string): string => `${PEFT_PREFIX}${module}.lora_A.weight`;
export const loraBName = (module: string): string => `${PEFT_PREFIX}${module}.lora_B.weight`;

/**
 * How a family names its adapted modules. PEFT names a module by its path in the Hugging Face model
 * (LlamaForCausalLM.model.layers.N..., GPT2LMHeadModel.transformer.h.N...); the studio's weights
 * carry the checkpoint names (Llama: the same; GPT-2: without `transformer.`), which are also the
 * prefixes the model's hook is called with.
 */
const NAMING: Record<ModelFamily, { layer: string; checkpointPrefix: string; conv1d: boolean }> = {
  llama: { layer: 'model.layers', checkpointPrefix: '', conv1d: false },
  gpt2: { layer: 'transformer.h', checkpointPrefix: 'transformer.', conv1d: true },
};

/** A PEFT module name's checkpoint name (the base weight is `${name}.weight`), refusing another family's. */
function checkpointNameOf(family: ModelFamily, module: string): string {
  const { checkpointPrefix, layer } = NAMING[family];
  if (!module.startsWith(`${layer}.`))
    throw new Error(
      `the adapter adapts ${module}, which is not a module of a ${familyName(family)} model (${layer}.N...)`,
    );
  return module.slice(checkpointPrefix.length);
}

const familyName = (family: ModelFamily): string => (family === 'gpt2' ? 'GPT-2' : 'Llama-family');

/** Short names ("q,k,v") -> targets, refusing unknown ones by name. */
export function parseLoraTargets(spec: string | readonly string[]): LoraTarget[] {
  const names = (typeof spec === 'string' ? spec.split(',') : [...spec]).map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(LORA_TARGETS as string[]).includes(n));
  if (unknown.length > 0)
    throw new Error(`unknown LoRA target ${unknown.join(', ')}: choose from ${LORA_TARGETS.join(', ')}`);
  if (names.length === 0) throw new Error(`LoRA needs at least one target of ${LORA_TARGETS.join(', ')}`);
  return [...new Set(names as LoraTarget[])];
}

function checkConfig(c: LoraConfig, family: ModelFamily): void {
  if (!Number.isInteger(c.r) || c.r < 1) throw new Error(`LoRA rank r must be a positive integer, not ${c.r}`);
  if (!(c.alpha > 0)) throw new Error(`LoRA alpha must be positive, not ${c.alpha}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), not ${c.dropout}`);
  const problem = loraTargetsProblem(family, parseLoraTargets(c.targets));
  if (problem) throw new Error(`LoRA targets ${c.targets.join(',')}: ${problem}`);
}

/** The modules (inside a layer) these targets adapt in a family, each once: q, k, v share GPT-2's c_attn. */
function layerModules(family: ModelFamily, targets: readonly LoraTarget[]): string[] {
  return [...new Set(targets.map((t) => loraLayerModules[family][t]).filter((m): m is string => m !== null))];
}

/** A model whose projections take a hook: both families. */
type Adaptable = Gpt | Llama;

function adaptable(model: CausalLm): Adaptable {
  if (!('linearHook' in model)) throw new Error(`this ${model.family} model takes no LoRA adapters`);
  return model as Adaptable;
}

interface AdaptedModule {
  /** PEFT's module name (the adapter's keys). */
  module: string;
  /** The checkpoint name: the base weight is `${prefix}.weight`, and the hook is called with it. */
  prefix: string;
  out: number;
  in: number;
}

/** Every adapted module of the model, layer by layer, with its in and out widths. */
function adaptedModules(model: Adaptable, targets: readonly LoraTarget[]): AdaptedModule[] {
  const { layer: layers, conv1d } = NAMING[model.family];
  const out: AdaptedModule[] = [];
  for (let layer = 0; layer < model.config.nLayer; layer++) {
    for (const m of layerModules(model.family, targets)) {
      const module = `${layers}.${layer}.${m}`;
      const prefix = checkpointNameOf(model.family, module);
      const w = model.params.get(`${prefix}.weight`);
      if (!w) throw new Error(`the model has no ${prefix}.weight to adapt`);
      const [rows, cols] = w.shape as [number, number];
      // nn.Linear stores [out, in]; GPT-2's Conv1D [in, out].
      out.push(conv1d ? { module, prefix, in: rows, out: cols } : { module, prefix, out: rows, in: cols });
    }
  }
  return out;
}

let adapterCount = 0;

export class LoraAdapters {
  readonly config: LoraConfig;
  readonly base: Adaptable;
  /** The adapters' trainable parameters, keyed by PEFT's names (loraAName, loraBName). */
  readonly params = new Map<string, tf.Variable>();
  /** False: the base alone computes (the reference policy). */
  enabled = true;
  /** By checkpoint name (the hook's prefix). */
  private readonly modules: Map<string, { a: tf.Variable; b: tf.Variable }> = new Map();

  private constructor(
    model: CausalLm,
    config: LoraConfig,
    weights: (module: string, out: number, inp: number) => { a: Float32Array; b: Float32Array },
  ) {
    const base = adaptable(model);
    checkConfig(config, base.family);
    if (base.linearHook) throw new Error('the model already has adapters attached');
    this.config = { ...config, targets: parseLoraTargets(config.targets) };
    this.base = base;
    const id = adapterCount++;
    for (const { module, prefix, out, in: inp } of adaptedModules(base, this.config.targets)) {
      const { a, b } = weights(module, out, inp);
      const va = tf.variable(tf.tensor2d(a, [config.r, inp]), true, `lora${id}/${module}/A`);
      const vb = tf.variable(tf.tensor2d(b, [out, config.r]), true, `lora${id}/${module}/B`);
      this.params.set(loraAName(module), va);
      this.params.set(loraBName(module), vb);
      this.modules.set(prefix, { a: va, b: vb });
    }
    // The base is frozen: nothing but the adapters trains.
    for (const v of base.params.values()) v.trainable = false;
    const scale = config.alpha / config.r;
    const { dropout } = config;
    const hook = (prefix: string, x: tf.Tensor2D, training: ForwardOptions['training']) => {
      const m = this.enabled ? this.modules.get(prefix) : undefined;
      if (!m) return null;
      const xin =
        training && dropout > 0
          ? (tf.dropout(x, dropout, undefined, `${training.dropoutSeed}/lora/${prefix}`) as tf.Tensor2D)
          : x;
      // x A^T B^T, both through tiedHead (x @ W^T with W stored [out, in]), then scaled: the same
      // for a Conv1D, whose adapters PEFT also stores [r, in] and [out, r].
      return tf.mul<tf.Tensor2D>(
        tiedHead(tiedHead(xin, m.a as tf.Tensor as tf.Tensor2D), m.b as tf.Tensor as tf.Tensor2D),
        scale,
      );
    };
    // The adapters' variables go with the hook, so a recomputed layer (ops.ts) knows its trainable inputs.
    base.linearHook = Object.assign(hook, { params: this.params });
  }

  /** Fresh adapters: A as PEFT's kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), B zeros. */
  static attach(model: CausalLm, config: LoraConfig, rng: Rng): LoraAdapters {
    return new LoraAdapters(model, config, (_module, out, inp) => {
      const bound = 1 / Math.sqrt(inp);
      const a = new Float32Array(config.r * inp);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
      return { a, b: new Float32Array(out * config.r) };
    });
  }

  /** Adapters holding these weights (PEFT names); every adapted module must be there with its shapes. */
  static fromWeights(model: CausalLm, config: LoraConfig, weights: NamedTensors): LoraAdapters {
    const expected = new Set<string>();
    const adapters = new LoraAdapters(model, config, (module, out, inp) => {
      const take = (name: string, shape: number[]) => {
        expected.add(name);
        const t = weights.get(name);
        if (!t) throw new Error(`adapter weights miss ${name}`);
        if (t.shape.length !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1])
          throw new Error(`adapter weight ${name} has shape [${t.shape}], expected [${shape}]`);
        return t.data;
      };
      return { a: take(loraAName(module), [config.r, inp]), b: take(loraBName(module), [out, config.r]) };
    });
    const extra = [...weights.keys()].filter((k) => !expected.has(k));
    if (extra.length > 0) {
      adapters.dispose();
      throw new Error(`adapter weights hold ${extra.slice(0, 4).join(', ')}, which the config does not target`);
    }
    return adapters;
  }

  /** Copies of the adapters' weights, PEFT names. */
  weights(): NamedTensors {
    const out: NamedTensors = new Map();
    for (const [name, v] of this.params) out.set(name, { shape: [...v.shape], data: new Float32Array(v.dataSync()) });
    return out;
  }

  /** fn's result with the adapters switched off: the frozen base, pi_ref. */
  withoutAdapters<T>(fn: () => T): T {
    const was = this.enabled;
    this.enabled = false;
    try {
      return fn();
    } finally {
      this.enabled = was;
    }
  }

  /** The base alone as a CausalLm (the reference policy): the same weights, the adapters off on every call. */
  reference(): CausalLm {
    const base = this.base;
    const off = <T>(fn: () => T) => this.withoutAdapters(fn);
    return {
      family: base.family,
      config: base.config,
      params: base.params,
      hidden: (ids, options) => off(() => base.hidden(ids, options)),
      headWeight: () => base.headWeight(),
      headRows: (h) => base.headRows(h),
      head: (h) => base.head(h),
      forward: (ids, options) => off(() => base.forward(ids, options)),
      weights: () => base.weights(),
      dispose: () => {
        // The policy owns the weights: disposing the reference view frees nothing.
      },
    };
  }

  /** The base's weights with every adapter merged in (names as the base checkpoint's; mergeLoraWeights). */
  merged(): NamedTensors {
    return mergeLoraWeights(this.base.weights(), this.config, this.weights(), this.base.family);
  }

  /** Frees the adapters and takes the hook off the base (whose weights stay frozen). */
  detach(): void {
    if (this.base.linearHook) this.base.linearHook = null;
    this.dispose();
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    this.modules.clear();
  }
}

/**
 * Every adapted module of a base checkpoint's weights (names as the base's) with its update merged
 * in: W + (alpha / r) B A for nn.Linear (W [out, in]), W + (alpha / r) (B A)^T for GPT-2's Conv1D
 * (W [in, out]; PEFT's fan_in_fan_out). In plain JavaScript (float64 sums, rounded once to float32):
 * merging needs no tensor backend. Adapter weights under PEFT's names; an adapter for a module the
 * base lacks, or one named for the other family, is refused by name.
 */
export function mergeLoraWeights(
  base: NamedTensors,
  config: LoraConfig,
  adapter: NamedTensors,
  family: ModelFamily,
): NamedTensors {
  const out: NamedTensors = new Map(base);
  const scale = config.alpha / config.r;
  const r = config.r;
  const { conv1d } = NAMING[family];
  for (const name of adapter.keys()) {
    if (!name.endsWith('.lora_A.weight')) continue;
    if (!name.startsWith(PEFT_PREFIX)) throw new Error(`adapter weight ${name} does not start with ${PEFT_PREFIX}`);
    const module = name.slice(PEFT_PREFIX.length, -'.lora_A.weight'.length);
    const weightName = `${checkpointNameOf(family, module)}.weight`;
    const w = base.get(weightName);
    const a = adapter.get(name)!;
    const b = adapter.get(loraBName(module));
    if (!w) throw new Error(`the adapter adapts ${module}, which the base model does not have`);
    if (!b) throw new Error(`the adapter has ${name} without its ${loraBName(module)}`);
    const [rows, cols] = w.shape as [number, number];
    const [outDim, inDim] = conv1d ? [cols, rows] : [rows, cols];
    if (a.shape[0] !== r || a.shape[1] !== inDim || b.shape[0] !== outDim || b.shape[1] !== r)
      throw new Error(
        `adapter ${module}: A [${a.shape}] and B [${b.shape}] do not fit the weight [${w.shape}] at rank ${r}`,
      );
    // Element (o, i) of B A goes to W[o, i] (Linear) or W[i, o] (Conv1D).
    const [outStride, inStride] = conv1d ? [1, outDim] : [inDim, 1];
    const data = new Float32Array(w.data);
    const column = new Float64Array(r);
    for (let o = 0; o < outDim; o++) {
      for (let k = 0; k < r; k++) column[k] = b.data[o * r + k]!;
      for (let i = 0; i < inDim; i++) {
        let sum = 0;
        for (let k = 0; k < r; k++) sum += column[k]! * a.data[k * inDim + i]!;
        const at = o * outStride + i * inStride;
        data[at] = w.data[at]! + scale * sum;
      }
    }
    out.set(weightName, { shape: w.shape, data });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// PEFT adapter folders: adapter_config.json + adapter_model.safetensors.

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/**
 * target_modules as a PEFT user would write them: a module's last name where that names only
 * chosen modules (q_proj, c_attn, c_fc; c_proj when both of GPT-2's are chosen), else the
 * dotted name PEFT matches as a suffix (attn.c_proj, mlp.c_proj).
 */
function peftTargetModules(family: ModelFamily, targets: readonly LoraTarget[]): string[] {
  const chosen = layerModules(family, targets);
  const all = layerModules(family, LORA_TARGETS);
  const last = (m: string) => m.slice(m.lastIndexOf('.') + 1);
  const names = chosen.map((m) =>
    all.filter((x) => last(x) === last(m)).every((x) => chosen.includes(x)) ? last(m) : m,
  );
  return [...new Set(names)];
}

/** adapter_config.json as PEFT writes it for a LoRA adapter on a causal LM of this family. */
export function peftAdapterConfig(config: LoraConfig, baseModel: string, family: ModelFamily): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: config.r,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    target_modules: peftTargetModules(family, config.targets),
    bias: 'none',
    // PEFT's flag for a Conv1D base layer (weight [in, out]): its merge transposes B A.
    fan_in_fan_out: NAMING[family].conv1d,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    use_rslora: false,
    use_dora: false,
  };
}

/** Writes a PEFT adapter folder for these adapters. */
export function writePeftAdapter(dir: string, adapters: LoraAdapters, baseModel: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, ADAPTER_CONFIG),
    `${JSON.stringify(peftAdapterConfig(adapters.config, baseModel, adapters.base.family), null, 2)}\n`,
  );
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), adapters.weights(), { format: 'pt' });
}

/** An adapter folder's settings: the family its target modules belong to and its base model's name. */
export interface PeftAdapterInfo {
  config: LoraConfig;
  family: ModelFamily;
  baseModel: string;
}

/**
 * A PEFT folder's adapter_config.json: its LoRA settings, which family its target_modules name
 * (matched as PEFT matches them: the module's name or a dotted suffix of it) and its base model's
 * name; anything else PEFT writes that the studio does not compute is refused by name.
 */
export function readPeftConfig(dir: string): PeftAdapterInfo {
  const configPath = join(dir, ADAPTER_CONFIG);
  if (!existsSync(configPath)) throw new Error(`${configPath} is missing`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${configPath}: not JSON (${(error as Error).message})`, { cause: error });
  }
  if (raw.peft_type !== 'LORA') throw new Error(`${configPath}: peft_type ${String(raw.peft_type)} is not LORA`);
  if (raw.use_dora === true || raw.use_rslora === true)
    throw new Error(`${configPath}: DoRA and rsLoRA adapters are not supported`);
  const modules = raw.target_modules;
  if (!Array.isArray(modules) || modules.length === 0)
    throw new Error(`${configPath}: target_modules must be a list of module names`);
  const names = modules.map(String);
  const matching = (family: ModelFamily, name: string) =>
    LORA_TARGETS.filter((t) => {
      const m = loraLayerModules[family][t];
      return m !== null && (m === name || m.endsWith(`.${name}`));
    });
  const family = (['llama', 'gpt2'] as const).find((f) => names.every((n) => matching(f, n).length > 0));
  if (!family) {
    const known = (f: ModelFamily) => peftTargetModules(f, LORA_TARGETS).join(', ');
    throw new Error(
      `${configPath}: target_modules ${names.join(', ')} are not all modules of one family: Llama ${known('llama')}; GPT-2 ${known('gpt2')}, attn.c_proj, mlp.c_proj`,
    );
  }
  const targets = LORA_TARGETS.filter((t) => names.some((n) => matching(family, n).includes(t)));
  const config: LoraConfig = {
    r: Number(raw.r),
    alpha: Number(raw.lora_alpha),
    dropout: Number(raw.lora_dropout ?? 0),
    targets,
  };
  try {
    checkConfig(config, family);
  } catch (error) {
    throw new Error(`${configPath}: ${(error as Error).message}`, { cause: error });
  }
  return { config, family, baseModel: String(raw.base_model_name_or_path ?? '') };
}

/** A PEFT folder's settings (readPeftConfig) and its weights, PEFT's names. */
export function readPeftAdapter(dir: string): PeftAdapterInfo & { weights: NamedTensors } {
  const info = readPeftConfig(dir);
  const weightsPath = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(weightsPath)) throw new Error(`${weightsPath} is missing`);
  // PEFT's files name the adapter "default" in memory but not on disk; older ones keep ".default".
  const { tensors } = readSafetensors(weightsPath);
  const weights: NamedTensors = new Map();
  for (const [name, t] of tensors) weights.set(name.replace(/\.default\.weight$/, '.weight'), t);
  return { ...info, weights };
}
