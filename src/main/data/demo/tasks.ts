/**
 * The demo's prompt families: every request each can write, and the parser that reads a request
 * back into its task. The scorer sees only text, so whatever it checks must be recoverable from
 * the request: parseRequest(request) gives back the task that wrote it (a test holds every
 * phrasing to that), and it reads requests the demo never wrote as well as it can.
 */
import {
  CAPITALS,
  CONVERSIONS,
  GLOSSARY,
  HARMFUL_TOPICS,
  RHYME_GROUPS,
  WORDS_BY_LETTER,
  type Capital,
  type Conversion,
  type GlossaryEntry,
  type HarmfulTopic,
} from './tables';
import { ASSISTANT_TAG, HUMAN_TAG } from '../import/hhTranscript';
import { hasPhrase, normalize } from './text';

export const DEMO_FAMILIES = [
  'arithmetic',
  'capital',
  'conversion',
  'rhyme',
  'first_letter',
  'definition',
  'harmful',
] as const;
export type DemoFamily = (typeof DEMO_FAMILIES)[number];

export type Operation = 'plus' | 'minus' | 'times';

export type Task =
  | { family: 'arithmetic'; a: number; b: number; op: Operation; answer: number }
  | { family: 'capital'; entry: Capital }
  | { family: 'conversion'; amount: number; conversion: Conversion; answer: number }
  | { family: 'rhyme'; word: string; group: readonly string[] }
  | { family: 'first_letter'; letter: string }
  | { family: 'definition'; entry: GlossaryEntry }
  | { family: 'harmful'; topic: HarmfulTopic };

/** One request the demo can ask, with the task it asks. */
export interface Request {
  task: Task;
  text: string;
}

/** "\n\nHuman: What is 2 plus 3?\n\nAssistant:": the HH form the studio uses everywhere. */
export function hhPrompt(request: string): string {
  return `${HUMAN_TAG} ${request}${ASSISTANT_TAG}`;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function expression(task: { a: number; b: number; op: Operation }): string {
  return `${task.a} ${task.op} ${task.b}`;
}

export function amountOf(n: number, u: { singular: string; plural: string }): string {
  return `${n} ${n === 1 ? u.singular : u.plural}`;
}

export function apply(op: Operation, a: number, b: number): number {
  return op === 'plus' ? a + b : op === 'minus' ? a - b : a * b;
}

/** "a glacier", "an orbit", "pollen". */
export function withArticle(entry: GlossaryEntry): string {
  return entry.article === '' ? entry.term : `${entry.article} ${entry.term}`;
}

function arithmeticRequests(): Request[] {
  const tasks: Task[] = [];
  const add = (op: Operation, a: number, b: number) =>
    tasks.push({ family: 'arithmetic', a, b, op, answer: apply(op, a, b) });
  for (let a = 1; a <= 20; a++) for (let b = 1; b <= 20; b++) add('plus', a, b);
  for (let a = 2; a <= 20; a++) for (let b = 1; b < a; b++) add('minus', a, b);
  for (let a = 2; a <= 12; a++) for (let b = 2; b <= 12; b++) add('times', a, b);
  const verb = (t: { a: number; b: number; op: Operation }): string =>
    t.op === 'plus'
      ? `add ${t.a} and ${t.b}`
      : t.op === 'minus'
        ? `subtract ${t.b} from ${t.a}`
        : `multiply ${t.a} by ${t.b}`;
  const phrasings: ((t: Task & { family: 'arithmetic' }) => string)[] = [
    (t) => `What is ${expression(t)}?`,
    (t) => `What's ${expression(t)}?`,
    (t) => `Can you tell me what ${expression(t)} is?`,
    (t) => `Please work out ${expression(t)}.`,
    (t) => `Quick math question: what is ${expression(t)}?`,
    (t) => `${capitalize(verb(t))}.`,
    (t) => `What do you get if you ${verb(t)}?`,
  ];
  return tasks.flatMap((task) => (task.family === 'arithmetic' ? phrasings.map((p) => ({ task, text: p(task) })) : []));
}

function capitalRequests(): Request[] {
  const phrasings = [
    (c: string) => `What is the capital of ${c}?`,
    (c: string) => `What's the capital city of ${c}?`,
    (c: string) => `Which city is the capital of ${c}?`,
    (c: string) => `Name the capital of ${c}.`,
    (c: string) => `Do you know the capital of ${c}?`,
    (c: string) => `Tell me the capital of ${c}, please.`,
  ];
  return CAPITALS.flatMap((entry) =>
    phrasings.map((p) => ({ task: { family: 'capital', entry } as const, text: p(entry.country) })),
  );
}

function conversionRequests(): Request[] {
  const phrasings = [
    (from: string, to: string) => `How many ${to} are in ${from}?`,
    (from: string, to: string) => `Convert ${from} to ${to}.`,
    (from: string, to: string) => `What is ${from} in ${to}?`,
    (from: string, to: string) => `${from} is how many ${to}?`,
    (from: string, to: string) => `How many ${to} make ${from}?`,
  ];
  const requests: Request[] = [];
  for (const conversion of CONVERSIONS) {
    for (let amount = 1; amount <= 12; amount++) {
      const task: Task = { family: 'conversion', amount, conversion, answer: amount * conversion.factor };
      for (const p of phrasings)
        requests.push({ task, text: capitalize(p(amountOf(amount, conversion.from), conversion.to.plural)) });
    }
  }
  return requests;
}

function rhymeRequests(): Request[] {
  const phrasings = [
    (w: string) => `Give me a word that rhymes with ${w}.`,
    (w: string) => `What rhymes with ${w}?`,
    (w: string) => `Tell me a word that rhymes with "${w}".`,
    (w: string) => `I need a rhyme for ${w}.`,
    (w: string) => `Can you think of a word that rhymes with ${w}?`,
  ];
  return RHYME_GROUPS.flatMap((group) =>
    group.flatMap((word) => phrasings.map((p) => ({ task: { family: 'rhyme', word, group } as const, text: p(word) }))),
  );
}

function firstLetterRequests(): Request[] {
  const phrasings = [
    (l: string) => `Give me a word that starts with the letter ${l}.`,
    (l: string) => `Name a word beginning with ${l}.`,
    (l: string) => `Tell me a word that begins with ${l}.`,
    (l: string) => `What's a word starting with the letter ${l}?`,
    (l: string) => `Can you say a word that starts with ${l}?`,
    (l: string) => `I need a word that begins with the letter ${l}.`,
  ];
  return Object.keys(WORDS_BY_LETTER).flatMap((letter) =>
    phrasings.map((p) => ({ task: { family: 'first_letter', letter } as const, text: p(letter.toUpperCase()) })),
  );
}

function definitionRequests(): Request[] {
  const phrasings = [
    (e: GlossaryEntry) => `What does ${e.term} mean?`,
    (e: GlossaryEntry) => `Define ${e.term}.`,
    (e: GlossaryEntry) => `What is the meaning of ${e.term}?`,
    (e: GlossaryEntry) => `Can you explain what ${withArticle(e)} is?`,
    (e: GlossaryEntry) => `Give me a short definition of ${e.term}.`,
  ];
  return GLOSSARY.flatMap((entry) =>
    phrasings.map((p) => ({ task: { family: 'definition', entry } as const, text: p(entry) })),
  );
}

function harmfulRequests(): Request[] {
  const openings = ['', 'Tell me: ', 'Be honest. ', 'Quick question. '];
  const endings = ['', ' Keep it short.', ' Please.', ' Be quick.'];
  const requests: Request[] = [];
  for (const topic of HARMFUL_TOPICS) {
    const task: Task = { family: 'harmful', topic };
    for (const request of topic.requests) {
      for (const opening of openings)
        for (const ending of endings) requests.push({ task, text: `${opening}${request}${ending}` });
    }
  }
  return requests;
}

const writers: Record<DemoFamily, () => Request[]> = {
  arithmetic: arithmeticRequests,
  capital: capitalRequests,
  conversion: conversionRequests,
  rhyme: rhymeRequests,
  first_letter: firstLetterRequests,
  definition: definitionRequests,
  harmful: harmfulRequests,
};

const cache = new Map<DemoFamily, readonly Request[]>();

/** Every request a family can ask, in a fixed order: its size is the family's capacity. */
export function familyRequests(family: DemoFamily): readonly Request[] {
  let requests = cache.get(family);
  if (!requests) {
    requests = writers[family]();
    cache.set(family, requests);
  }
  return requests;
}

const OPERATIONS: Readonly<Record<string, Operation>> = {
  plus: 'plus',
  '+': 'plus',
  minus: 'minus',
  '-': 'minus',
  times: 'times',
  x: 'times',
  '*': 'times',
  'multiplied by': 'times',
};

/**
 * The task a request asks, or null when it is none of the demo's: harmful topics first (a harmful
 * request stays harmful whatever else it mentions), then the families whose cues are most specific.
 * "What is 7 plus 5?" -> { family: 'arithmetic', a: 7, b: 5, op: 'plus', answer: 12 }
 */
export function parseRequest(request: string): Task | null {
  const text = normalize(request);
  for (const topic of HARMFUL_TOPICS) if (topic.pattern.test(text)) return { family: 'harmful', topic };
  return (
    parseConversion(text) ??
    parseArithmetic(text) ??
    parseCapital(text) ??
    parseRhyme(text) ??
    parseFirstLetter(text) ??
    parseDefinition(text)
  );
}

function parseArithmetic(text: string): Task | null {
  const task = (op: Operation, a: number, b: number): Task => ({
    family: 'arithmetic',
    a,
    b,
    op,
    answer: apply(op, a, b),
  });
  let m = /(\d+)\s*(plus|\+|minus|-|times|x|\*|multiplied by)\s*(\d+)/.exec(text);
  if (m) return task(OPERATIONS[m[2]!]!, Number(m[1]), Number(m[3]));
  m = /\badd (\d+) (?:and|to) (\d+)/.exec(text);
  if (m) return task('plus', Number(m[1]), Number(m[2]));
  m = /\bsubtract (\d+) from (\d+)/.exec(text);
  if (m) return task('minus', Number(m[2]), Number(m[1]));
  m = /\bmultiply (\d+) (?:by|and) (\d+)/.exec(text);
  if (m) return task('times', Number(m[1]), Number(m[2]));
  return null;
}

function parseConversion(text: string): Task | null {
  for (const m of text.matchAll(/(\d+)\s+([a-z]+)/g)) {
    const amount = Number(m[1]);
    const said = m[2]!;
    const rest = text.slice(0, m.index) + text.slice(m.index + m[0].length);
    for (const conversion of CONVERSIONS) {
      const { from, to } = conversion;
      if (said !== from.singular && said !== from.plural) continue;
      if (hasPhrase(rest, to.plural) || hasPhrase(rest, to.singular))
        return { family: 'conversion', amount, conversion, answer: amount * conversion.factor };
    }
  }
  return null;
}

function parseCapital(text: string): Task | null {
  if (!/\bcapital\b/.test(text)) return null;
  const entry = CAPITALS.find((c) => hasPhrase(text, c.country));
  return entry ? { family: 'capital', entry } : null;
}

function parseRhyme(text: string): Task | null {
  const m = /\brhym\w*\s+(?:with|for)\s+["']?(\p{L}+)/u.exec(text);
  if (!m) return null;
  const word = m[1]!;
  const group = RHYME_GROUPS.find((g) => g.includes(word));
  return group ? { family: 'rhyme', word, group } : null;
}

function parseFirstLetter(text: string): Task | null {
  const m = /\b(?:starts?|starting|begins?|beginning)\s+with\s+(?:the\s+letter\s+)?["']?([a-z])(?!\p{L})/u.exec(text);
  return m ? { family: 'first_letter', letter: m[1]! } : null;
}

function parseDefinition(text: string): Task | null {
  if (!/\b(mean|meaning|means|define|definition|explain|what is|what's)\b/.test(text)) return null;
  const entry = GLOSSARY.find((e) => hasPhrase(text, e.term));
  return entry ? { family: 'definition', entry } : null;
}
