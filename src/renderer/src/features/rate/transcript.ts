/**
 * A prompt as the turns of its conversation. Prompts in HH style are transcripts,
 * "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Help me?\n\nAssistant:", ending where the response
 * under comparison begins; the rating screen shows them as turns with their speakers.
 *
 * "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Help?\n\nAssistant:" ->
 *   [{ speaker: 'Human', text: 'Hi' }, { speaker: 'Assistant', text: 'Hello' }, { speaker: 'Human', text: 'Help?' }]
 * A prompt with no speaker tags is one turn with speaker null.
 */
export type Speaker = 'Human' | 'Assistant';

export interface Turn {
  speaker: Speaker | null;
  text: string;
}

/** A tag at the very start, or after a blank line: "Human:" inside a sentence is not a turn. */
const TAG = /(?:^|\n\n)(Human|Assistant):[ \t]?/g;

export function transcriptTurns(prompt: string): Turn[] {
  const turns: Turn[] = [];
  const source = prompt.replace(/\r\n?/g, '\n');
  let speaker: Speaker | null = null;
  let from = 0;
  for (const match of source.matchAll(TAG)) {
    turns.push({ speaker, text: source.slice(from, match.index) });
    speaker = match[1] as Speaker;
    from = match.index + match[0].length;
  }
  turns.push({ speaker, text: source.slice(from) });
  const trimmed = turns.map((t) => ({ speaker: t.speaker, text: t.text.replace(/^\n+/, '').trimEnd() }));
  // Leading text before the first tag is often nothing; the empty last assistant turn is the one
  // the responses fill. Any other empty turn stays: the conversation had it.
  return trimmed.filter((t, index) => t.text !== '' || (t.speaker !== null && index !== trimmed.length - 1));
}

/**
 * The turn the responses answer: the last human turn (a prompt without speakers is its own last
 * turn); -1 for no turns.
 */
export function lastHumanTurn(turns: readonly Turn[]): number {
  for (let i = turns.length - 1; i >= 0; i--) if (turns[i]?.speaker === 'Human') return i;
  return turns.length - 1;
}

/**
 * Where a folded conversation starts: the turn before the last human turn (what it replies to),
 * so the exchange the responses follow stays whole; 0 when there is nothing earlier to fold.
 */
export function foldPoint(turns: readonly Turn[]): number {
  return Math.max(0, lastHumanTurn(turns) - 1);
}
