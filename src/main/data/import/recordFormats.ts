/**
 * The record formats: which fields each reads, and how one record becomes an example (prompt,
 * response, reward) or a preference pair (prompt, chosen, rejected). Every field of a record is
 * checked before giving up on it, so one pass over a file reports all of its problems.
 */
import type { ConcreteFormat } from '../../../shared/contract';
import { implicitPromptLength, readMessages, renderPrompt, renderReply, type Message } from './conversation';
import { splitTranscripts } from './hhTranscript';
import { describeValue, type FieldProblem } from './issues';
import {
  MISSING,
  hasField,
  metadataOf,
  readLabel,
  readReward,
  readString,
  type FieldNames,
  type LogicalField,
  type SourceRecord,
} from './sourceRecord';

export interface ParsedExample {
  line: number;
  prompt: string;
  response: string;
  reward: number | null;
  rewardSource: string | null;
  metadata: Record<string, unknown> | null;
}

export interface ParsedPair {
  line: number;
  prompt: string;
  chosen: string;
  rejected: string;
  metadata: Record<string, unknown> | null;
}

export type Converted =
  | { kind: 'example'; example: ParsedExample }
  | { kind: 'pair'; pair: ParsedPair }
  | { kind: 'invalid'; problems: FieldProblem[] };

/** The logical fields each format reads; the rest of a record goes to metadata. */
export const formatFields: Readonly<Record<ConcreteFormat, readonly LogicalField[]>> = {
  jsonl: ['prompt', 'response', 'reward'],
  csv: ['prompt', 'response', 'reward'],
  'hh-rlhf': ['chosen', 'rejected'],
  'trl-preference': ['prompt', 'chosen', 'rejected'],
  'trl-unpaired': ['prompt', 'completion', 'label'],
  'prompt-completion': ['prompt', 'completion'],
};

/** Columns a CSV header must have for a format (CSV has no implicit-prompt form). */
export function requiredColumns(format: ConcreteFormat): readonly LogicalField[] {
  switch (format) {
    case 'jsonl':
    case 'csv':
      return ['prompt', 'response'];
    default:
      return formatFields[format];
  }
}

export function convertRecord(format: ConcreteFormat, record: SourceRecord, names: FieldNames): Converted {
  switch (format) {
    case 'jsonl':
    case 'csv':
      return convertRewarded(record, names);
    case 'hh-rlhf':
      return convertTranscripts(record, names);
    case 'trl-preference':
      return convertPreference(record, names);
    case 'trl-unpaired':
      return convertCompletion(record, names, true);
    case 'prompt-completion':
      return convertCompletion(record, names, false);
  }
}

function usedNames(format: ConcreteFormat, names: FieldNames): string[] {
  return formatFields[format].map((field) => names[field]);
}

function convertRewarded(record: SourceRecord, names: FieldNames): Converted {
  const problems: FieldProblem[] = [];
  const prompt = readString(record, names.prompt, problems);
  const response = readString(record, names.response, problems);
  const reward = readReward(record, names.reward, problems);
  if (prompt === null || response === null || problems.length > 0) return { kind: 'invalid', problems };
  return {
    kind: 'example',
    example: {
      line: record.line,
      prompt,
      response,
      reward,
      rewardSource: reward === null ? null : `column:${names.reward}`,
      metadata: metadataOf(record, usedNames('jsonl', names)),
    },
  };
}

function convertTranscripts(record: SourceRecord, names: FieldNames): Converted {
  const problems: FieldProblem[] = [];
  const chosen = readString(record, names.chosen, problems);
  const rejected = readString(record, names.rejected, problems);
  if (chosen === null || rejected === null) return { kind: 'invalid', problems };
  const split = splitTranscripts(chosen, rejected);
  if (!split) {
    problems.push({
      message:
        `"${names.chosen}" and "${names.rejected}" have no "Assistant:" turn in common, so the prompt cannot be found ` +
        '(it is everything up to the last "\\n\\nAssistant:" the two transcripts share)',
    });
    return { kind: 'invalid', problems };
  }
  return {
    kind: 'pair',
    pair: { line: record.line, ...split, metadata: metadataOf(record, usedNames('hh-rlhf', names)) },
  };
}

/** A prompt or reply field: plain text (standard form) or a list of messages (conversational). */
type Shape = { kind: 'text'; text: string } | { kind: 'messages'; messages: Message[] };

function readShape(record: SourceRecord, name: string, problems: FieldProblem[]): Shape | null {
  if (!hasField(record, name)) {
    problems.push({ field: name, message: MISSING });
    return null;
  }
  const value = record.values[name];
  if (typeof value === 'string') return { kind: 'text', text: value };
  if (Array.isArray(value)) {
    const messages = readMessages(value, name, problems);
    return messages && { kind: 'messages', messages };
  }
  problems.push({
    field: name,
    message: `expected a string or a list of {"role", "content"} messages, got ${describeValue(value)}`,
  });
  return null;
}

interface Reply {
  field: string;
  shape: Shape;
}

/** Renders a prompt and its replies; both must be in the same form, as TRL requires. */
function renderExchange(
  promptField: string,
  prompt: Shape,
  replies: readonly Reply[],
  problems: FieldProblem[],
): { prompt: string; replies: string[] } | null {
  const before = problems.length;
  const texts: string[] = [];
  let promptText: string | null;
  if (prompt.kind === 'text') {
    promptText = prompt.text;
    for (const reply of replies) {
      if (reply.shape.kind === 'text') texts.push(reply.shape.text);
      else
        problems.push({
          field: reply.field,
          message: `expected a string, as "${promptField}" is a string, got a list of messages`,
        });
    }
  } else {
    promptText = renderPrompt(prompt.messages, promptField, problems);
    for (const reply of replies) {
      if (reply.shape.kind === 'messages') {
        const text = renderReply(reply.shape.messages, reply.field, problems);
        if (text !== null) texts.push(text);
      } else {
        problems.push({
          field: reply.field,
          message: `expected a list of messages, as "${promptField}" is a list of messages, got ${describeValue(reply.shape.text)}`,
        });
      }
    }
  }
  return promptText !== null && problems.length === before ? { prompt: promptText, replies: texts } : null;
}

function convertPreference(record: SourceRecord, names: FieldNames): Converted {
  const problems: FieldProblem[] = [];
  const promptPresent = hasField(record, names.prompt);
  const prompt = promptPresent ? readShape(record, names.prompt, problems) : null;
  const chosen = readShape(record, names.chosen, problems);
  const rejected = readShape(record, names.rejected, problems);
  const metadata = metadataOf(record, usedNames('trl-preference', names));
  if (!chosen || !rejected || (promptPresent && !prompt)) return { kind: 'invalid', problems };
  if (!prompt) {
    if (chosen.kind !== 'messages' || rejected.kind !== 'messages') {
      problems.push({
        field: names.prompt,
        message:
          `required field is missing (without it, "${names.chosen}" and "${names.rejected}" must be lists of messages that ` +
          'begin with the same prompt; for HH-RLHF transcripts use the hh-rlhf format)',
      });
      return { kind: 'invalid', problems };
    }
    return implicitPreference(record.line, chosen.messages, rejected.messages, names, metadata);
  }
  const rendered = renderExchange(
    names.prompt,
    prompt,
    [
      { field: names.chosen, shape: chosen },
      { field: names.rejected, shape: rejected },
    ],
    problems,
  );
  const [chosenText, rejectedText] = rendered?.replies ?? [];
  if (!rendered || chosenText === undefined || rejectedText === undefined) return { kind: 'invalid', problems };
  return {
    kind: 'pair',
    pair: { line: record.line, prompt: rendered.prompt, chosen: chosenText, rejected: rejectedText, metadata },
  };
}

function implicitPreference(
  line: number,
  chosen: Message[],
  rejected: Message[],
  names: FieldNames,
  metadata: Record<string, unknown> | null,
): Converted {
  const problems: FieldProblem[] = [];
  const cut = implicitPromptLength(chosen, rejected);
  if (cut === null) {
    problems.push({
      message:
        `"${names.prompt}" is missing and "${names.chosen}" and "${names.rejected}" do not begin with the same messages ` +
        'followed by an "assistant" reply, so the prompt cannot be found',
    });
    return { kind: 'invalid', problems };
  }
  // Paths point into "chosen": the implicit prompt is read from there.
  const prompt = renderPrompt(chosen.slice(0, cut), names.chosen, problems);
  const chosenText = renderReply(chosen.slice(cut), names.chosen, problems, cut);
  const rejectedText = renderReply(rejected.slice(cut), names.rejected, problems, cut);
  if (prompt === null || chosenText === null || rejectedText === null) return { kind: 'invalid', problems };
  return { kind: 'pair', pair: { line, prompt, chosen: chosenText, rejected: rejectedText, metadata } };
}

function convertCompletion(record: SourceRecord, names: FieldNames, labelled: boolean): Converted {
  const problems: FieldProblem[] = [];
  const format: ConcreteFormat = labelled ? 'trl-unpaired' : 'prompt-completion';
  const prompt = readShape(record, names.prompt, problems);
  const completion = readShape(record, names.completion, problems);
  const label = labelled ? readLabel(record, names.label, problems) : null;
  if (!prompt || !completion || problems.length > 0) return { kind: 'invalid', problems };
  const rendered = renderExchange(names.prompt, prompt, [{ field: names.completion, shape: completion }], problems);
  const response = rendered?.replies[0];
  if (!rendered || response === undefined) return { kind: 'invalid', problems };
  return {
    kind: 'example',
    example: {
      line: record.line,
      prompt: rendered.prompt,
      response,
      reward: label === null ? null : label ? 1 : 0,
      rewardSource: labelled ? 'label' : null,
      metadata: metadataOf(record, usedNames(format, names)),
    },
  };
}
