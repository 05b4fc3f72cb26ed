/**
 * Where the rating screen opens a conversation (its last human turn) and what folding keeps (the
 * exchange the responses follow).
 */
import { describe, expect, it } from 'vitest';
import { foldPoint, lastHumanTurn, transcriptTurns } from '../../src/renderer/src/features/rate/transcript';

const hh = (exchanges: number, last = 'Now what?'): string => {
  let text = '';
  for (let i = 1; i <= exchanges; i++) text += `\n\nHuman: q${i}\n\nAssistant: a${i}`;
  return `${text}\n\nHuman: ${last}\n\nAssistant:`;
};

describe('lastHumanTurn and foldPoint', () => {
  it('find the last human turn of a long conversation and keep the assistant turn before it when folded', () => {
    const turns = transcriptTurns(hh(10));
    expect(turns).toHaveLength(21);
    expect(lastHumanTurn(turns)).toBe(20);
    expect(turns[20]).toEqual({ speaker: 'Human', text: 'Now what?' });
    expect(foldPoint(turns)).toBe(19);
    expect(turns[19]).toEqual({ speaker: 'Assistant', text: 'a10' });
  });

  it('fold nothing in a one-turn prompt, and treat a prompt without speakers as its own last turn', () => {
    const one = transcriptTurns(hh(0));
    expect(lastHumanTurn(one)).toBe(0);
    expect(foldPoint(one)).toBe(0);
    const plain = transcriptTurns('Write a poem about rain.');
    expect(plain).toEqual([{ speaker: null, text: 'Write a poem about rain.' }]);
    expect(lastHumanTurn(plain)).toBe(0);
    expect(foldPoint(plain)).toBe(0);
    expect(lastHumanTurn([])).toBe(-1);
    expect(foldPoint([])).toBe(0);
  });

  it('find the last human turn when a conversation ends on an assistant turn', () => {
    const turns = transcriptTurns('\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: no');
    expect(lastHumanTurn(turns)).toBe(2);
    expect(foldPoint(turns)).toBe(1);
  });
});
