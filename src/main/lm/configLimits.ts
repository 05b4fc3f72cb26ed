/**
 * The largest sizes a config.json may declare, checked before anything is sized by them: far past
 * every released model (vocabularies of 262k tokens, 126 layers, a hidden size of 16k, an MLP of
 * 53k, contexts of 1M), and far below what would exhaust memory or hang building the list of
 * parameters before the weights could be checked. A config past one is hostile or corrupt.
 */
export const CONFIG_LIMITS = {
  vocab: 1 << 22,
  layers: 1024,
  width: 1 << 18,
  heads: 4096,
  positions: 1 << 24,
} as const;

/** "must be at most N" for a field past its limit, or null when it is within it. */
export function overLimit(value: number, limit: number): string | null {
  return value > limit ? `is ${value}, past the limit of ${limit} (no released model comes near it)` : null;
}
