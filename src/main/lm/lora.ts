/**
 * LoRA adapters (Hu et al. 2021) on a Llama-family model's projections, as Hugging Face PEFT
 * computes and stores them:
 *
 *   y = W x (+ b) + (alpha / r) * B (A (dropout(x)))       A: [r, in], B: [out, r]
 *
 * A is initialised as PEFT does (nn.init.kaiming_uniform_ with a = sqrt(5): U(-1/sqrt(in),
 * 1/sqrt(in))) and B with zeros, so a fresh adapter changes nothing. The base model's weights are
 * frozen; only the adapters' parameters train, keyed by PEFT's names
 * (`base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`), and the base with the
 * adapters switched off is the reference policy: pi_ref costs no second copy of the weights.
 *
 * The adapters hook the model's projections by their checkpoint names (Llama.linearHook). GPT-2
 * (Conv1D with fused q/k/v) is not supported: attach refuses it with a message saying so.
 *
 *   const lora = LoraAdapters.attach(model, { r: 8, alpha: 16, dropout: 0.05, targets: ['q', 'v'] }, new Rng(0));
 *   trainStep({ params: lora.params, ... });                 // the base stays as it was
 *   lora.reference().forward(ids);                           // pi_ref: the base alone
 *   writePeftAdapter(dir, lora, 'base-model');               // adapter_config.json + adapter_model.safetensors
 *   const full = lora.merged();                              // W + (alpha / r) B A, for a full model folder
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLm } from './causalLm';
import type { NamedTensors } from './config';
import type { Llama } from './llama';
import { tiedHead } from './ops';
import { readSafetensors, writeSafetensors } from './safetensors';
import type { Rng } from '../core/rng';

/** The projections an adapter can target, by short name, and the module each names in a Llama layer. */
export const LORA_TARGET_MODULES = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
} as const;
export type LoraTarget = keyof typeof LORA_TARGET_MODULES;
export const LORA_TARGETS = Object.keys(LORA_TARGET_MODULES) as LoraTarget[];

export interface LoraConfig {
  /** Rank of A and B. */
  r: number;
  /** Scale numerator: the update is (alpha / r) B A. */
  alpha: number;
  /** Dropout on the adapter's input while training, in [0, 1). */
  dropout: number;
  targets: LoraTarget[];
}

/** PEFT's key prefix before a module's checkpoint name. */
const PEFT_PREFIX = 'base_model.model.';

export const loraAName = (module: string): string => `${PEFT_PREFIX}${module}.lora_A.weight`;
export const loraBName = (module: string): string => `${PEFT_PREFIX}${module}.lora_B.weight`;

/** Short names ("q,k,v") -> targets, refusing unknown ones by name. */
export function parseLoraTargets(spec: string | readonly string[]): LoraTarget[] {
  const names = (typeof spec === 'string' ? spec.split(',') : [...spec]).map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(LORA_TARGETS as string[]).includes(n));
  if (unknown.length > 0)
    throw new Error(`unknown LoRA target ${unknown.join(', ')}: choose from ${LORA_TARGETS.join(', ')}`);
  if (names.length === 0) throw new Error(`LoRA needs at least one target of ${LORA_TARGETS.join(', ')}`);
  return [...new Set(names as LoraTarget[])];
}

function checkConfig(c: LoraConfig): void {
  if (!Number.isInteger(c.r) || c.r < 1) throw new Error(`LoRA rank r must be a positive integer, not ${c.r}`);
  if (!(c.alpha > 0)) throw new Error(`LoRA alpha must be positive, not ${c.alpha}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), not ${c.dropout}`);
  parseLoraTargets(c.targets);
}

function asLlama(model: CausalLm): Llama {
  if (model.family !== 'llama')
    throw new Error(
      `LoRA adapters are supported on Llama-family models only (q, k, v, o, gate, up, down); this model is ${model.family}, whose fused Conv1D projections are not adapted: train it without LoRA`,
    );
  return model as Llama;
}

/** Every adapted module's checkpoint name (`model.layers.N.self_attn.q_proj`) with its [out, in] shape. */
function adaptedModules(
  model: Llama,
  targets: readonly LoraTarget[],
): Array<{ module: string; out: number; in: number }> {
  const out: Array<{ module: string; out: number; in: number }> = [];
  for (let layer = 0; layer < model.config.nLayer; layer++) {
    for (const target of targets) {
      const module = `model.layers.${layer}.${LORA_TARGET_MODULES[target]}`;
      const w = model.params.get(`${module}.weight`);
      if (!w) throw new Error(`the model has no ${module}.weight to adapt`);
      out.push({ module, out: w.shape[0]!, in: w.shape[1]! });
    }
  }
  return out;
}

let adapterCount = 0;

export class LoraAdapters {
  readonly config: LoraConfig;
  readonly base: Llama;
  /** The adapters' trainable parameters, keyed by PEFT's names (loraAName, loraBName). */
  readonly params = new Map<string, tf.Variable>();
  /** False: the base alone computes (the reference policy). */
  enabled = true;
  private readonly modules: Map<string, { a: tf.Variable; b: tf.Variable }> = new Map();

  private constructor(
    base: Llama,
    config: LoraConfig,
    weights: (module: string, out: number, inp: number) => { a: Float32Array; b: Float32Array },
  ) {
    checkConfig(config);
    if (base.linearHook) throw new Error('the model already has adapters attached');
    this.config = { ...config, targets: parseLoraTargets(config.targets) };
    this.base = base;
    const id = adapterCount++;
    for (const { module, out, in: inp } of adaptedModules(base, this.config.targets)) {
      const { a, b } = weights(module, out, inp);
      const va = tf.variable(tf.tensor2d(a, [config.r, inp]), true, `lora${id}/${module}/A`);
      const vb = tf.variable(tf.tensor2d(b, [out, config.r]), true, `lora${id}/${module}/B`);
      this.params.set(loraAName(module), va);
      this.params.set(loraBName(module), vb);
      this.modules.set(module, { a: va, b: vb });
    }
    // The base is frozen: nothing but the adapters trains.
    for (const v of base.params.values()) v.trainable = false;
    const scale = config.alpha / config.r;
    const { dropout } = config;
    base.linearHook = (prefix, x, y, training) => {
      const m = this.enabled ? this.modules.get(prefix) : undefined;
      if (!m) return y;
      const xin =
        training && dropout > 0
          ? (tf.dropout(x, dropout, undefined, `${training.dropoutSeed}/lora/${prefix}`) as tf.Tensor2D)
          : x;
      // x A^T B^T, both through tiedHead (x @ W^T with W stored [out, in]), then scaled.
      return tf.add(
        y,
        tf.mul(tiedHead(tiedHead(xin, m.a as tf.Tensor as tf.Tensor2D), m.b as tf.Tensor as tf.Tensor2D), scale),
      );
    };
  }

  /** Fresh adapters: A as PEFT's kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), B zeros. */
  static attach(model: CausalLm, config: LoraConfig, rng: Rng): LoraAdapters {
    return new LoraAdapters(asLlama(model), config, (_module, out, inp) => {
      const bound = 1 / Math.sqrt(inp);
      const a = new Float32Array(config.r * inp);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
      return { a, b: new Float32Array(out * config.r) };
    });
  }

  /** Adapters holding these weights (PEFT names); every adapted module must be there with its shapes. */
  static fromWeights(model: CausalLm, config: LoraConfig, weights: NamedTensors): LoraAdapters {
    const llama = asLlama(model);
    const expected = new Set<string>();
    const adapters = new LoraAdapters(llama, config, (module, out, inp) => {
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

  /** The base's weights with every adapter merged in: W + (alpha / r) B A (names as the base checkpoint's). */
  merged(): NamedTensors {
    return mergeLoraWeights(this.base.weights(), this.config, this.weights());
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
 * W + (alpha / r) B A for every adapted module of a base checkpoint's weights (names as the base's),
 * in plain JavaScript (float64 sums, rounded once to float32): merging needs no tensor backend.
 * Adapter weights under PEFT's names; an adapter for a module the base lacks is refused by name.
 */
export function mergeLoraWeights(base: NamedTensors, config: LoraConfig, adapter: NamedTensors): NamedTensors {
  const out: NamedTensors = new Map(base);
  const scale = config.alpha / config.r;
  const r = config.r;
  for (const name of adapter.keys()) {
    if (!name.endsWith('.lora_A.weight')) continue;
    const module = name.slice(PEFT_PREFIX.length, -'.lora_A.weight'.length);
    const w = base.get(`${module}.weight`);
    const a = adapter.get(name)!;
    const b = adapter.get(loraBName(module));
    if (!w) throw new Error(`the adapter adapts ${module}, which the base model does not have`);
    if (!b) throw new Error(`the adapter has ${name} without its ${loraBName(module)}`);
    const [rows, cols] = w.shape as [number, number];
    if (a.shape[0] !== r || a.shape[1] !== cols || b.shape[0] !== rows || b.shape[1] !== r)
      throw new Error(
        `adapter ${module}: A [${a.shape}] and B [${b.shape}] do not fit the weight [${w.shape}] at rank ${r}`,
      );
    const data = new Float32Array(w.data.length);
    const column = new Float64Array(r);
    for (let o = 0; o < rows; o++) {
      for (let k = 0; k < r; k++) column[k] = b.data[o * r + k]!;
      for (let i = 0; i < cols; i++) {
        let sum = 0;
        for (let k = 0; k < r; k++) sum += column[k]! * a.data[k * cols + i]!;
        data[o * cols + i] = w.data[o * cols + i]! + scale * sum;
      }
    }
    out.set(`${module}.weight`, { shape: w.shape, data });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// PEFT adapter folders: adapter_config.json + adapter_model.safetensors.

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** adapter_config.json as PEFT writes it for a LoRA adapter on a causal LM. */
export function peftAdapterConfig(config: LoraConfig, baseModel: string): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: config.r,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    target_modules: config.targets.map((t) => LORA_TARGET_MODULES[t].split('.')[1]!),
    bias: 'none',
    fan_in_fan_out: false,
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
    `${JSON.stringify(peftAdapterConfig(adapters.config, baseModel), null, 2)}\n`,
  );
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), adapters.weights(), { format: 'pt' });
}

/** A PEFT folder's LoRA settings, its base model's name and its weights; anything else PEFT writes is refused by name. */
export function readPeftAdapter(dir: string): { config: LoraConfig; baseModel: string; weights: NamedTensors } {
  const configPath = join(dir, ADAPTER_CONFIG);
  const weightsPath = join(dir, ADAPTER_WEIGHTS);
  for (const p of [configPath, weightsPath]) if (!existsSync(p)) throw new Error(`${p} is missing`);
  const raw = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  if (raw.peft_type !== 'LORA') throw new Error(`${configPath}: peft_type ${String(raw.peft_type)} is not LORA`);
  if (raw.use_dora === true || raw.use_rslora === true)
    throw new Error(`${configPath}: DoRA and rsLoRA adapters are not supported`);
  const modules = raw.target_modules;
  if (!Array.isArray(modules)) throw new Error(`${configPath}: target_modules must be a list of module names`);
  const byModule = new Map(Object.entries(LORA_TARGET_MODULES).map(([t, m]) => [m.split('.')[1]!, t as LoraTarget]));
  const targets = modules.map((m) => {
    const t = byModule.get(String(m));
    if (!t)
      throw new Error(`${configPath}: target module ${String(m)} is not one of ${[...byModule.keys()].join(', ')}`);
    return t;
  });
  const config: LoraConfig = {
    r: Number(raw.r),
    alpha: Number(raw.lora_alpha),
    dropout: Number(raw.lora_dropout ?? 0),
    targets,
  };
  checkConfig(config);
  // PEFT's files name the adapter "default" in memory but not on disk; older ones keep ".default".
  const { tensors } = readSafetensors(weightsPath);
  const weights: NamedTensors = new Map();
  for (const [name, t] of tensors) weights.set(name.replace(/\.default\.weight$/, '.weight'), t);
  return { config, baseModel: String(raw.base_model_name_or_path ?? ''), weights };
}
