/**
 * Conversational records (lists of {role, content} messages, as TRL writes them) rendered to the
 * HH text form the studio uses everywhere:
 *   "System: ..." first if there is one, then "\n\nHuman: ..." and "\n\nAssistant: ..." turns;
 *   a prompt ends with "\n\nAssistant:" and a reply is " " + the assistant's content,
 * so prompt + reply reads as one HH transcript. Problems name the exact path, e.g. prompt[2].role.
 */
import { describeValue, type FieldProblem } from './issues';
import { isPlainObject } from './sourceRecord';
import { ASSISTANT_TAG, HUMAN_TAG } from './hhTranscript';

export type Role = 'system' | 'user' | 'assistant';

export interface Message {
  role: Role;
  content: string;
}

const ROLES: readonly string[] = ['system', 'user', 'assistant'];

/** Validates every message of a list; the messages are returned only when all are valid. */
export function readMessages(list: readonly unknown[], field: string, problems: FieldProblem[]): Message[] | null {
  const before = problems.length;
  const messages: Message[] = [];
  list.forEach((item, i) => {
    const path = `${field}[${i}]`;
    if (!isPlainObject(item)) {
      problems.push({ field: path, message: `expected a message {"role", "content"}, got ${describeValue(item)}` });
      return;
    }
    const role = item['role'];
    const content = item['content'];
    let ok = true;
    if (!Object.hasOwn(item, 'role')) {
      problems.push({ field: `${path}.role`, message: 'required field is missing' });
      ok = false;
    } else if (typeof role !== 'string' || !ROLES.includes(role)) {
      problems.push({
        field: `${path}.role`,
        message: `expected "system", "user" or "assistant", got ${describeValue(role)}`,
      });
      ok = false;
    }
    if (!Object.hasOwn(item, 'content')) {
      problems.push({ field: `${path}.content`, message: 'required field is missing' });
      ok = false;
    } else if (typeof content !== 'string') {
      problems.push({ field: `${path}.content`, message: `expected a string, got ${describeValue(content)}` });
      ok = false;
    }
    if (ok) messages.push({ role: role as Role, content: content as string });
  });
  return problems.length === before ? messages : null;
}

/**
 * A prompt: optional leading system messages, then turns ending with a user message.
 * `offset` is where `messages` starts in the field's list, so paths point at the right item.
 */
export function renderPrompt(
  messages: readonly Message[],
  field: string,
  problems: FieldProblem[],
  offset = 0,
): string | null {
  if (messages.length === 0) {
    problems.push({ field, message: 'expected at least one message, got an empty list' });
    return null;
  }
  const before = problems.length;
  let text = '';
  let pastSystem = false;
  messages.forEach((message, i) => {
    if (message.role === 'system') {
      if (pastSystem) {
        problems.push({
          field: `${field}[${i + offset}].role`,
          message: 'a "system" message must come before all other messages',
        });
      }
      text += `${text === '' ? '' : '\n\n'}System: ${message.content}`;
      return;
    }
    pastSystem = true;
    text += turn(message);
  });
  const last = messages[messages.length - 1];
  if (last && last.role !== 'user') {
    problems.push({
      field: `${field}[${messages.length - 1 + offset}].role`,
      message: `the prompt must end with a "user" message, got "${last.role}"`,
    });
  }
  return problems.length === before ? text + ASSISTANT_TAG : null;
}

/** A reply: starts with an assistant message; later turns (rare) continue the transcript. */
export function renderReply(
  messages: readonly Message[],
  field: string,
  problems: FieldProblem[],
  offset = 0,
): string | null {
  const first = messages[0];
  if (!first) {
    problems.push({ field, message: 'expected at least one "assistant" message, got an empty list' });
    return null;
  }
  const before = problems.length;
  if (first.role !== 'assistant') {
    problems.push({
      field: `${field}[${offset}].role`,
      message: `a reply must start with an "assistant" message, got "${first.role}"`,
    });
  }
  messages.forEach((message, i) => {
    if (i > 0 && message.role === 'system') {
      problems.push({ field: `${field}[${i + offset}].role`, message: 'a "system" message cannot appear in a reply' });
    }
  });
  if (problems.length !== before) return null;
  return ` ${first.content}${messages.slice(1).map(turn).join('')}`;
}

function turn(message: Message): string {
  return `${message.role === 'user' ? HUMAN_TAG : ASSISTANT_TAG} ${message.content}`;
}

/**
 * TRL's implicit prompt: chosen and rejected hold the whole conversation. The prompt is their
 * common message prefix, backed up so that both replies start with an assistant message.
 * Returns the number of prompt messages, or null when no such split exists.
 */
export function implicitPromptLength(chosen: readonly Message[], rejected: readonly Message[]): number | null {
  const limit = Math.min(chosen.length, rejected.length);
  let common = 0;
  while (common < limit && sameMessage(chosen[common], rejected[common])) common++;
  for (let cut = common; cut >= 1; cut--) {
    if (chosen[cut]?.role === 'assistant' && rejected[cut]?.role === 'assistant') return cut;
  }
  return null;
}

function sameMessage(a: Message | undefined, b: Message | undefined): boolean {
  return a !== undefined && b !== undefined && a.role === b.role && a.content === b.content;
}
