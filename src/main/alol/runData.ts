/**
 * What a single-response run trains on: a dataset's examples, or (with RunConfig.pairs) the
 * responses of its preference pairs, each an example of its own. With `both`, a pair gives
 * prompt+chosen and prompt+rejected: A-LoL then sees the bad response with a low reward, its
 * advantage goes negative and it is never drawn, which is the paper's point about preference data.
 *
 * The reward `label` is a pair's own verdict: chosen 1, rejected 0. It is data, not a function
 * (it cannot score a new response), so it lives here beside the column rewards, and a run that
 * asks for it on data without pairs is refused before it starts.
 *
 *   [...pairResponses([{ prompt: 'Q', chosen: ' a', rejected: ' b', ... }], 'both')]
 *   // [{ prompt: 'Q', response: ' a', label: 1, side: 'chosen' }, { prompt: 'Q', response: ' b', label: 0, side: 'rejected' }]
 */
import {
  AppError,
  type DatasetSummary,
  type Example,
  type Pair,
  type PairsMode,
  type RunConfig,
} from '../../shared/contract';
import { lossNeeds } from './losses/index';

/** The reward spec naming a pair's own label. */
export const LABEL_REWARD = 'label';
export const LABEL_CHOSEN = 1;
export const LABEL_REJECTED = 0;

/** One response to train on, with what the data says of it. */
export interface RunRow {
  prompt: string;
  response: string;
  /** The data's own reward: the reward column of an example, the label of a pair's response. */
  reward: number | null;
  /** The row's split metadata ("train", "validation", ...), null without one. */
  split: string | null;
  /** Which side of its pair a response was; null for an example. */
  side: 'chosen' | 'rejected' | null;
}

export function splitOf(metadata: Record<string, unknown> | null): string | null {
  const split = metadata?.split;
  return typeof split === 'string' ? split : null;
}

/** A pair's responses as rows, in pair order (with both: chosen, then rejected, pair by pair), labelled 1 and 0. */
export function* pairResponses(pairs: Iterable<Pair>, mode: PairsMode): Generator<RunRow> {
  for (const p of pairs) {
    const split = splitOf(p.metadata);
    if (mode !== 'rejected')
      yield { prompt: p.prompt, response: p.chosen, reward: LABEL_CHOSEN, split, side: 'chosen' };
    if (mode !== 'chosen')
      yield { prompt: p.prompt, response: p.rejected, reward: LABEL_REJECTED, split, side: 'rejected' };
  }
}

export function* exampleRows(examples: Iterable<Example>): Generator<RunRow> {
  for (const e of examples)
    yield { prompt: e.prompt, response: e.response, reward: e.reward, split: splitOf(e.metadata), side: null };
}

/**
 * Refuses, before a run starts, data and reward settings that cannot go together, with what to
 * do instead. The dataset is the version the run names.
 */
export function checkRunData(
  cfg: Pick<RunConfig, 'algo' | 'pairs' | 'reward'>,
  dataset: Pick<DatasetSummary, 'name' | 'version' | 'examples' | 'pairs'>,
): void {
  const needs = lossNeeds(cfg.algo);
  const which = `dataset "${dataset.name}" v${dataset.version}`;
  const reward = cfg.reward.trim();
  if (needs.pairs) {
    if (cfg.pairs !== undefined)
      throw new AppError(
        'invalid_input',
        `pairs: ${cfg.algo} trains on the preference pairs themselves; leave pairs (--pairs) out`,
      );
    return;
  }
  if (cfg.pairs !== undefined) {
    if (dataset.pairs === 0) {
      throw new AppError(
        'invalid_input',
        `pairs: ${which} has no preference pairs (it holds ${dataset.examples} single-response examples): leave pairs (--pairs) out to train on them`,
      );
    }
    if (needs.signal !== null && reward === 'column') {
      throw new AppError(
        'invalid_input',
        `reward: preference pairs carry no reward column; give label (chosen 1, rejected 0), rm:NAME, a scoring module or demo`,
      );
    }
    return;
  }
  if (dataset.examples === 0 && dataset.pairs > 0) {
    throw new AppError(
      'invalid_input',
      `pairs: ${which} holds preference pairs only: train ${cfg.algo} on their responses with pairs (--pairs) both, chosen or rejected`,
    );
  }
  if (needs.signal !== null && reward === LABEL_REWARD) {
    throw new AppError(
      'invalid_input',
      `reward: label is a preference pair's own label (chosen 1, rejected 0); it needs pairs (--pairs both|chosen|rejected) on a dataset with pairs`,
    );
  }
}
