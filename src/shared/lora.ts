/**
 * Which projections a LoRA target (RunConfig.lora.targets: q, k, v, o, gate, up, down) adapts in
 * each model family, and which target sets a family can take: one table for the engine (lm/lora.ts),
 * the backend's check when a run is created, the CLI's default and the run form's checkboxes.
 *
 * GPT-2 computes q, k and v with one fused Conv1D, attn.c_attn (weight [in, 3 * in]). PEFT adapts a
 * module as a whole (one A, one B), so on GPT-2 q, k and v all name c_attn and are given together:
 * q alone would silently adapt k and v too, and is refused instead. GPT-2's MLP has no gate.
 *
 *   loraTargetsProblem('gpt2', ['q', 'v'])   // 'GPT-2 computes q, k and v with one fused c_attn ...'
 *   defaultLoraTargets.gpt2                  // ['q', 'k', 'v']: PEFT's GPT-2 default, c_attn
 */
import type { LoraSettings, ModelShape } from './contract';

type Family = ModelShape['family'];
type Target = LoraSettings['targets'][number];

/** The module each target adapts inside decoder layer N (PEFT's module names), per family; null: none. */
export const loraLayerModules: Record<Family, Record<Target, string | null>> = {
  llama: {
    q: 'self_attn.q_proj',
    k: 'self_attn.k_proj',
    v: 'self_attn.v_proj',
    o: 'self_attn.o_proj',
    gate: 'mlp.gate_proj',
    up: 'mlp.up_proj',
    down: 'mlp.down_proj',
  },
  gpt2: {
    q: 'attn.c_attn',
    k: 'attn.c_attn',
    v: 'attn.c_attn',
    o: 'attn.c_proj',
    gate: null,
    up: 'mlp.c_fc',
    down: 'mlp.c_proj',
  },
};

/** PEFT's defaults (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING): q_proj, v_proj; GPT-2's c_attn. */
export const defaultLoraTargets: Record<Family, Target[]> = { llama: ['q', 'v'], gpt2: ['q', 'k', 'v'] };

const FUSED: readonly Target[] = ['q', 'k', 'v'];

/** Why these targets do not fit a family's model, or null when they do. */
export function loraTargetsProblem(family: Family, targets: readonly Target[]): string | null {
  if (family !== 'gpt2') return null;
  if (targets.includes('gate')) return 'GPT-2 has no gate projection (its MLP is c_fc then c_proj): leave gate out';
  const fused = FUSED.filter((t) => targets.includes(t));
  if (fused.length > 0 && fused.length < FUSED.length)
    return `GPT-2 computes q, k and v with one fused c_attn, which PEFT adapts as a whole: give q, k and v together (not ${fused.join(',')} alone)`;
  return null;
}
