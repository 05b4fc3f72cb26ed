/**
 * The offline replies the demo writes for a task: good ones in a few phrasings, and flawed ones of
 * each kind. A flaw written "systematically" is the same for every prompt of a family (the capital's
 * famous non-capital city, the next rhyme group's word, the same filler), so that imitation can
 * learn it as a rule; the other flawed replies vary at random.
 */
import type { Rng } from '../../core/rng';
import { CAPITALS, CONVERSIONS, GLOSSARY, RHYME_GROUPS, WORDS_BY_LETTER, type GlossaryEntry } from './tables';
import { amountOf, capitalize, expression, withArticle, type DemoFamily, type Task } from './tasks';

export const RESPONSE_KINDS = ['good', 'wrong', 'off_topic', 'refusal', 'unsafe', 'rambling', 'repetitive'] as const;
export type ResponseKind = (typeof RESPONSE_KINDS)[number];
export type FlawKind = Exclude<ResponseKind, 'good'>;

/** Good phrasings per task: variants 0 .. GOOD_VARIANTS - 1 differ. */
export const GOOD_VARIANTS = 3;

/** The flaws a harmless prompt's replies show; a harmful prompt's replies show `unsafe` instead of `wrong` and `refusal`. */
export function flawsFor(family: DemoFamily): readonly FlawKind[] {
  return family === 'harmful'
    ? ['unsafe', 'off_topic', 'rambling', 'repetitive']
    : ['wrong', 'off_topic', 'refusal', 'rambling', 'repetitive'];
}

/** The flaw most prompts of a family are dominated by, so each family teaches imitation a different mistake. */
export const PRIMARY_FLAW: Readonly<Record<DemoFamily, FlawKind>> = {
  arithmetic: 'refusal',
  capital: 'wrong',
  conversion: 'rambling',
  rhyme: 'wrong',
  first_letter: 'wrong',
  definition: 'repetitive',
  harmful: 'unsafe',
};

const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)]!;

const OFF_TOPIC = [
  ' I love the smell of fresh bread in the morning.',
  ' My favorite color is green, like spring leaves.',
  ' Did you know that octopuses have three hearts?',
  " Let's talk about something else. How was your weekend?",
  " Penguins can't fly, but they are great swimmers.",
  " The weather is lovely today, isn't it?",
  ' Jazz music was born in New Orleans.',
];

const NEEDLESS_REFUSALS = [
  " I'm sorry, but I can't help with that.",
  " I'd rather not answer that question.",
  " Sorry, I can't help with that request.",
];

const REFUSAL_OPENINGS = [
  " I can't help with that.",
  " Sorry, but I won't help with this.",
  " I'm not able to help with that.",
];

// Rambling wraps a right answer in words that say nothing: no digits, no word any scorer looks for.
const RAMBLE_OPENINGS = [
  ' Hmm, that is a really good question, let me think.',
  ' Okay, so this is something people often wonder about.',
];
const RAMBLE_CLOSINGS = [
  ' I hope this helps, and let me know if you need more.',
  ' Anyway, that is what I think, and I could go on all day.',
];
/** One sentence only: a harmful prompt and its refusal are long already, and all of it must fit the context. */
const HARMFUL_RAMBLES = [
  ' Hmm, that is a big question, and there is a lot to say.',
  ' Okay, so a lot of people wonder about this.',
];

/** The next item of a list after `item`, wrapping: a fixed wrong answer for each right one. */
function nextOf<T>(items: readonly T[], item: T): T {
  return items[(items.indexOf(item) + 1) % items.length]!;
}

function otherOf<T>(rng: Rng, items: readonly T[], not: T): T {
  for (;;) {
    const item = pick(rng, items);
    if (item !== not) return item;
  }
}

const allRhymeWords = RHYME_GROUPS.flat();
const letters = Object.keys(WORDS_BY_LETTER);

function definitionSentence(entry: GlossaryEntry, definition: string): string {
  return ` ${capitalize(withArticle(entry))} is ${definition}.`;
}

export function goodResponse(task: Task, variant: number): string {
  const v = variant % GOOD_VARIANTS;
  switch (task.family) {
    case 'arithmetic':
      return [
        ` ${expression(task)} is ${task.answer}.`,
        ` The answer is ${task.answer}.`,
        ` ${expression(task)} equals ${task.answer}.`,
      ][v]!;
    case 'capital': {
      const { country, capital } = task.entry;
      return [
        ` The capital of ${country} is ${capital}.`,
        ` It's ${capital}.`,
        ` ${capital} is the capital of ${country}.`,
      ][v]!;
    }
    case 'conversion': {
      const from = amountOf(task.amount, task.conversion.from);
      const to = amountOf(task.answer, task.conversion.to);
      return [` ${from} is ${to}.`, ` That's ${to}.`, ` There are ${to} in ${from}.`][v]!;
    }
    case 'rhyme': {
      const others = task.group.filter((w) => w !== task.word);
      const rhyme = others[v % others.length]!;
      return [` ${capitalize(rhyme)} rhymes with ${task.word}.`, ` One word is ${rhyme}.`, ` Try ${rhyme}.`][v]!;
    }
    case 'first_letter': {
      const choices = WORDS_BY_LETTER[task.letter]!;
      const word = choices[v % choices.length]!;
      return [
        ` ${capitalize(word)} starts with ${task.letter.toUpperCase()}.`,
        ` How about ${word}?`,
        ` One word is ${word}.`,
      ][v]!;
    }
    case 'definition': {
      const { entry } = task;
      return [
        definitionSentence(entry, entry.definition),
        ` ${capitalize(entry.term)} means ${entry.definition}.`,
        ` It's ${entry.definition}.`,
      ][v]!;
    }
    case 'harmful': {
      const alternatives = task.topic.alternatives;
      return `${REFUSAL_OPENINGS[v]!} ${alternatives[v % alternatives.length]!}`;
    }
  }
}

/** A wrong but on-topic answer: fixed when `systematic`, else drawn from `rng`. */
function wrongResponse(task: Task, rng: Rng, systematic: boolean): string {
  switch (task.family) {
    case 'arithmetic': {
      let wrong = task.answer + 1;
      if (!systematic) {
        const offsets = [-3, -2, -1, 1, 2, 3].filter((d) => task.answer + d >= 0);
        wrong = task.answer + pick(rng, offsets);
      }
      return ` ${expression(task)} is ${wrong}.`;
    }
    case 'capital': {
      const { entry } = task;
      const city = systematic
        ? entry.distractor
        : rng.uniform() < 0.5
          ? otherOf(rng, CAPITALS, entry).capital
          : otherOf(rng, CAPITALS, entry).distractor;
      return ` The capital of ${entry.country} is ${city}.`;
    }
    case 'conversion': {
      const { amount, conversion, answer } = task;
      let wrong = answer * 10;
      if (!systematic) {
        const factor = otherOf(rng, CONVERSIONS, conversion).factor;
        wrong = factor === conversion.factor ? answer + conversion.factor : amount * factor;
      }
      return ` ${amountOf(amount, conversion.from)} is ${amountOf(wrong, conversion.to)}.`;
    }
    case 'rhyme': {
      const notRhyming = allRhymeWords.filter((w) => !task.group.includes(w));
      const word = systematic ? nextOf(RHYME_GROUPS, task.group)[0]! : pick(rng, notRhyming);
      return ` ${capitalize(word)} rhymes with ${task.word}.`;
    }
    case 'first_letter': {
      const letter = systematic ? nextOf(letters, task.letter) : otherOf(rng, letters, task.letter);
      const choices = WORDS_BY_LETTER[letter]!;
      const word = systematic ? choices[0]! : pick(rng, choices);
      return ` ${capitalize(word)} starts with ${task.letter.toUpperCase()}.`;
    }
    case 'definition': {
      const other = systematic ? nextOf(GLOSSARY, task.entry) : otherOf(rng, GLOSSARY, task.entry);
      return definitionSentence(task.entry, other.definition);
    }
    case 'harmful':
      throw new Error('a harmful request has no wrong answer: its flaw is unsafe compliance');
  }
}

export function flawedResponse(task: Task, kind: FlawKind, rng: Rng, systematic: boolean): string {
  const choose = <T>(items: readonly T[]): T => (systematic ? items[0]! : pick(rng, items));
  switch (kind) {
    case 'wrong':
      return wrongResponse(task, rng, systematic);
    case 'off_topic':
      return choose(OFF_TOPIC);
    case 'refusal':
      if (task.family === 'harmful') throw new Error('refusing a harmful request is not a flaw');
      return task.family === 'arithmetic' && systematic
        ? " Sorry, I can't help with math questions."
        : choose(NEEDLESS_REFUSALS);
    case 'unsafe':
      if (task.family !== 'harmful') throw new Error('only a harmful request can be complied with unsafely');
      return choose(task.topic.compliance);
    case 'rambling': {
      const variant = systematic ? 0 : rng.int(GOOD_VARIANTS);
      if (task.family === 'harmful') return choose(HARMFUL_RAMBLES) + goodResponse(task, variant);
      return choose(RAMBLE_OPENINGS) + goodResponse(task, variant) + choose(RAMBLE_CLOSINGS);
    }
    case 'repetitive': {
      const once =
        task.family === 'harmful'
          ? choose(REFUSAL_OPENINGS)
          : goodResponse(task, systematic ? 0 : rng.int(GOOD_VARIANTS));
      // Long sentences twice, short ones three times: either way the reply stays inside the context.
      return once.repeat(once.split(' ').length > 9 ? 2 : 3);
    }
  }
}
