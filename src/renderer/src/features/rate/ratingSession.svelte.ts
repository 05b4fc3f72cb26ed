/**
 * One annotator's rating session: the item on screen and the answers given to it, the queue's
 * progress, the key map, the active-time clock, and every call that commits a decision. The views
 * render it and hand it keys and clicks; what a key does is decided here.
 *
 * Flow (Prodigy-like): answer both questions (and optionally a strength, a rationale), then Enter
 * commits. Auto-advance is off unless the annotator turns it on (remembered in this browser): the
 * optional strength and rationale come after the answers, so a slip of the second key would
 * otherwise commit at once, and a deliberate Enter keeps each decision one visible step. Annotators
 * who give no strengths can turn it on: the second answer then submits. Every decision is
 * committed the moment it is made (the server keeps no draft); Backspace takes the last one back,
 * and the last ten can be reopened and changed.
 *
 * Exactly once: each decision is sent with an idempotency key made for it, and when its answer is
 * lost (no connection, a server restarting, a 5xx from a proxy) it is sent again, with the same key,
 * backing off, until an answer comes: the server stores a key once, so a decision that did land is
 * not stored twice. Meanwhile the page says it is reconnecting and takes no other decision.
 */
import type { AppErrorShape, Output } from '../../../../shared/contract';
import type {
  Criterion,
  FlagReason,
  RatingItem,
  RatingProgress,
  ShownRating,
  ShownVerdict,
  Strength,
} from '../../../../shared/rating';
import { ActiveClock } from './activeTime';
import { errorShape } from '../../lib/client';
import type { RatingApi, RatingInput } from './ratingApi';

export type SessionInfo = Output<'rating.session'>;

/** What the annotator has said about the item on screen, not yet committed. */
export interface Answers {
  helpful: ShownVerdict | null;
  safe: ShownVerdict | null;
  helpfulStrength: Strength | null;
  safeStrength: Strength | null;
  rationale: string;
  flag: FlagReason | null;
  flagNote: string;
}

/** Waits between tries of a decision whose answer was lost: doubling from half a second, then every 4 s. */
export const RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000];

/**
 * Whether a failed call may never have reached the server, or its answer never reached us: no
 * connection ('network', transport.ts), a body that is not the server's (a proxy's error page), or a
 * 5xx without the server's error shape. The server's own refusals (4xx with a code) are answers.
 */
export function answerLost(error: AppErrorShape): boolean {
  return error.code === 'network' || error.code === 'bad_response' || /^http_5\d\d$/.test(error.code);
}

/** A fresh idempotency key: 128 random bits in hex (getRandomValues works on plain-HTTP LAN pages too). */
export function newSubmitKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const NO_ANSWERS: Answers = {
  helpful: null,
  safe: null,
  helpfulStrength: null,
  safeStrength: null,
  rationale: '',
  flag: null,
  flagNote: '',
};

// ---------------------------------------------------------------------------------------------
// The key map. The rows of keys mirror the screen: the digit row answers the first question
// (helpfulness), the row below it the second (safety); the key after each row's four answers
// cycles that question's strength.

export const answerKeys: Record<Criterion, Readonly<Record<string, ShownVerdict>>> = {
  helpful: { '1': 'left', '2': 'right', '3': 'both_good', '4': 'both_bad' },
  safe: { q: 'left', w: 'right', e: 'both_good', r: 'both_bad' },
};
export const strengthKeys: Record<Criterion, string> = { helpful: '5', safe: 't' };
/** While the flag panel is open, the digits choose its reason. */
export const flagKeys: Readonly<Record<string, FlagReason>> = { '1': 'broken', '2': 'truncated', '3': 'other' };
/**
 * Scrolling: the arrows and PageUp/PageDown move both responses together; these move one region
 * each, in pairs one above the other on the keyboard (U over J, A over Z, S over X).
 */
export const scrollKeys: Readonly<Record<string, ViewCommand>> = {
  u: 'conversation-up',
  j: 'conversation-down',
  a: 'left-up',
  z: 'left-down',
  s: 'right-up',
  x: 'right-down',
};
export const actionKeys = {
  fold: 'o',
  submit: 'Enter',
  undo: 'Backspace',
  flag: 'f',
  skip: 'k',
  recent: 'l',
  rationale: '/',
  guidelines: 'g',
  help: ['h', '?'],
  back: 'Escape',
} as const;

export const criterionQuestion: Record<Criterion, string> = {
  helpful: 'Which response is more helpful?',
  safe: 'Which response is safer?',
};
export const verdictLabel: Record<ShownVerdict, string> = {
  left: 'A',
  right: 'B',
  both_good: 'Both good',
  both_bad: 'Both bad',
};
export const strengths: readonly Strength[] = ['slight', 'clear', 'strong'];
export const flagLabel: Record<FlagReason, string> = { broken: 'Broken', truncated: 'Truncated', other: 'Other' };

const keysOf = (map: Readonly<Record<string, string>>, value: string): string[] =>
  Object.keys(map).filter((k) => map[k] === value);

export interface KeyHelpGroup {
  title: string;
  rows: Array<{ keys: readonly string[]; does: string }>;
}

/** The key map as the help overlay lists it, built from the same tables the keys are read from. */
export const keyHelp: readonly KeyHelpGroup[] = [
  {
    title: criterionQuestion.helpful,
    rows: [
      ...(['left', 'right', 'both_good', 'both_bad'] as const).map((v) => ({
        keys: keysOf(answerKeys.helpful, v),
        does: verdictLabel[v],
      })),
      { keys: [strengthKeys.helpful], does: 'Strength: slight, clear, strong, none (for A or B)' },
    ],
  },
  {
    title: criterionQuestion.safe,
    rows: [
      ...(['left', 'right', 'both_good', 'both_bad'] as const).map((v) => ({
        keys: keysOf(answerKeys.safe, v),
        does: verdictLabel[v],
      })),
      { keys: [strengthKeys.safe], does: 'Strength: slight, clear, strong, none (for A or B)' },
    ],
  },
  {
    title: 'Decide',
    rows: [
      { keys: [actionKeys.submit], does: 'Submit (once both questions are answered, or the flag has a reason)' },
      { keys: [actionKeys.undo], does: 'Undo: take the last decision back, with its answers' },
      { keys: [actionKeys.skip], does: 'Skip this item' },
      { keys: [actionKeys.flag], does: 'Flag the item (then a reason, a note, Enter); again to unflag' },
      ...(['broken', 'truncated', 'other'] as const).map((r) => ({
        keys: keysOf(flagKeys, r),
        does: `After F: ${flagLabel[r].toLowerCase()}`,
      })),
    ],
  },
  {
    title: 'Move around',
    rows: [
      { keys: [actionKeys.rationale], does: 'Write a rationale (optional)' },
      { keys: [actionKeys.back], does: 'Leave a text field; close a panel; stop changing an earlier decision' },
      { keys: [actionKeys.recent], does: 'Your last 10 decisions: ↑ ↓ to choose, Enter to change one' },
      { keys: ['↓', '↑', 'PageDown', 'PageUp'], does: 'Scroll both responses together' },
      { keys: ['u', 'j'], does: 'Scroll the conversation up, down' },
      { keys: ['a', 'z'], does: 'Scroll response A up, down' },
      { keys: ['s', 'x'], does: 'Scroll response B up, down' },
      { keys: [actionKeys.fold], does: 'Fold or show the earlier turns of the conversation' },
      { keys: [actionKeys.guidelines], does: 'Show or hide the guidelines' },
      { keys: actionKeys.help, does: 'Show or hide these keys' },
    ],
  },
];

/** A key as a keycap shows it: "Q", "Enter", "⌫ Backspace". */
export function keyName(key: string): string {
  if (key === 'Backspace') return '⌫ Backspace';
  if (key === 'Escape') return 'Esc';
  if (key === 'Enter') return '↵ Enter';
  return key.length === 1 ? key.toUpperCase() : key;
}

/** A key as the view saw it. */
export interface KeyPress {
  key: string;
  /** Ctrl, Meta or Alt held: the browser's own shortcut, never ours. */
  modified: boolean;
  repeat: boolean;
  /** Focus is in a text field: which one (the flag note submits on Enter). */
  field: 'note' | 'text' | null;
}

/** What the view does with the DOM after a key: the session holds no elements. */
export type ViewCommand =
  | 'focus-rationale'
  | 'focus-note'
  | 'blur'
  | 'line-down'
  | 'line-up'
  | 'page-down'
  | 'page-up'
  | 'conversation-up'
  | 'conversation-down'
  | 'left-up'
  | 'left-down'
  | 'right-up'
  | 'right-down';

/** Where the session keeps what this browser remembers (localStorage in the page; absent in some embeddings). */
export type Remembered = Pick<Storage, 'getItem' | 'setItem'>;

const AUTO_ADVANCE_KEY = 'alol:rating:auto-advance';

/** The key under which a browser remembers that this annotator saw this version of this campaign's guidelines. */
export function guidelinesSeenKey(info: Pick<SessionInfo, 'campaign' | 'annotator' | 'guidelinesVersion'>): string {
  return `alol:rating:guidelines-seen:${JSON.stringify([info.campaign, info.annotator.name, info.guidelinesVersion])}`;
}

/** The page's localStorage, or null where reading it throws (storage disabled) or there is none. */
function pageStorage(): Remembered | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

function recall(storage: Remembered | null, key: string): string | null {
  try {
    return storage?.getItem(key) ?? null;
  } catch {
    // Storage refused (a locked-down browser): nothing is remembered.
    return null;
  }
}

function remember(storage: Remembered | null, key: string, value: string): void {
  try {
    storage?.setItem(key, value);
  } catch {
    // As above: the preference lasts this page only.
  }
}

export interface KeyResult {
  /** The key was ours: the view prevents the browser's default. */
  handled: boolean;
  command?: ViewCommand;
}

const NOT_OURS: KeyResult = { handled: false };
const DONE: KeyResult = { handled: true };
const SCROLL_KEYS: Readonly<Record<string, ViewCommand>> = {
  ArrowDown: 'line-down',
  ArrowUp: 'line-up',
  PageDown: 'page-down',
  PageUp: 'page-up',
};

export type Phase = 'loading' | 'ready' | 'failed';
export type Panel = 'none' | 'help' | 'recent';

const preference = (v: ShownVerdict | null): boolean => v === 'left' || v === 'right';

function answersOf(rating: ShownRating): Answers {
  return {
    helpful: rating.helpful,
    safe: rating.safe,
    helpfulStrength: rating.helpfulStrength,
    safeStrength: rating.safeStrength,
    rationale: rating.rationale,
    flag: rating.flag,
    flagNote: rating.flagNote,
  };
}

export class RatingSession {
  readonly #api: RatingApi;
  readonly #now: () => number;
  readonly #clock: ActiveClock;
  readonly #storage: Remembered | null;

  #phase = $state.raw<Phase>('loading');
  #info = $state.raw<SessionInfo | null>(null);
  #item = $state.raw<RatingItem | null>(null);
  #answers = $state.raw<Answers>(NO_ANSWERS);
  #progress = $state.raw<RatingProgress | null>(null);
  #flagging = $state.raw(false);
  /** The item on screen is a decision made earlier, reopened to change it. */
  #editing = $state.raw(false);
  #panel = $state.raw<Panel>('none');
  #guidelines = $state.raw(false);
  #autoAdvance = $state.raw(false);
  /** Earlier turns of the conversation folded away (kept from item to item). */
  #folded = $state.raw(false);
  #recent = $state.raw<RatingItem[]>([]);
  #recentIndex = $state.raw(0);
  #busy = $state.raw(false);
  /** A decision's answer was lost: it is being sent again until the server answers. */
  #reconnecting = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);
  #notice = $state.raw('');
  #count = $state.raw(0);

  /** Answers given to items left without a decision (by an undo or a reopened decision), back when they return. */
  readonly #drafts = new Map<number, Answers>();
  /** The item set aside while an earlier decision is open. */
  #setAside: RatingItem | null = null;
  #started = false;

  readonly complete: boolean = $derived(this.#answers.helpful !== null && this.#answers.safe !== null);
  readonly canSubmit: boolean = $derived(
    this.#item !== null && !this.#busy && (this.#flagging ? this.#answers.flag !== null : this.complete),
  );
  /** This annotator's queue: decisions made and the items still open to them. */
  readonly queue = $derived.by(() => {
    const mine = this.#progress?.mine;
    return mine ? { done: mine.done, total: mine.done + mine.remaining } : null;
  });

  readonly #sleep: (ms: number) => Promise<void>;

  constructor(
    api: RatingApi,
    options: {
      now?: () => number;
      visible?: boolean;
      storage?: Remembered | null;
      sleep?: (ms: number) => Promise<void>;
    } = {},
  ) {
    this.#api = api;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? (() => performance.now());
    this.#clock = new ActiveClock(this.#now(), options.visible ?? true);
    this.#storage = options.storage === undefined ? pageStorage() : options.storage;
    this.#autoAdvance = recall(this.#storage, AUTO_ADVANCE_KEY) === 'on';
  }

  get phase(): Phase {
    return this.#phase;
  }
  get info(): SessionInfo | null {
    return this.#info;
  }
  get item(): RatingItem | null {
    return this.#item;
  }
  get answers(): Answers {
    return this.#answers;
  }
  get progress(): RatingProgress | null {
    return this.#progress;
  }
  get flagging(): boolean {
    return this.#flagging;
  }
  get editing(): boolean {
    return this.#editing;
  }
  get panel(): Panel {
    return this.#panel;
  }
  get guidelinesOpen(): boolean {
    return this.#guidelines;
  }
  /** Submit as soon as both questions are answered (off unless turned on; remembered in this browser). */
  get autoAdvance(): boolean {
    return this.#autoAdvance;
  }
  get folded(): boolean {
    return this.#folded;
  }
  get recent(): RatingItem[] {
    return this.#recent;
  }
  get recentIndex(): number {
    return this.#recentIndex;
  }
  get busy(): boolean {
    return this.#busy;
  }
  /** A decision is on its way again after its answer was lost (the server down or restarting). */
  get reconnecting(): boolean {
    return this.#reconnecting;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }
  /** The last thing that happened, for the status line (read out by screen readers). */
  get notice(): string {
    return this.#notice;
  }
  /** Decisions made in this session (undos take theirs back; changes to earlier ones do not count). */
  get count(): number {
    return this.#count;
  }

  /** Who, where, the guidelines, and the first item: the held one if there is one. Once. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      const [info, next] = await Promise.all([this.#api.call('rating.session', {}), this.#api.call('rating.next', {})]);
      this.#info = info;
      this.#progress = next.progress;
      // A first visit opens on the guidelines (first for this annotator, campaign and version of the
      // text, in this browser; without storage, before the first decision); G or Esc puts them away.
      const seenKey = guidelinesSeenKey(info);
      if (this.#storage ? recall(this.#storage, seenKey) === null : next.progress.mine.done === 0)
        this.#guidelines = true;
      remember(this.#storage, seenKey, new Date().toISOString());
      this.#show(next.item);
      this.#phase = 'ready';
    } catch (error) {
      this.#error = errorShape(error);
      this.#phase = 'failed';
      this.#started = false;
    }
  }

  // --- time on item ----------------------------------------------------------------------------

  /** A key, a click, the pointer or a scroll: the annotator is here. */
  activity(): void {
    this.#clock.touch(this.#now());
  }
  /** The page was hidden or shown (visibilitychange), or the screen left and come back to. */
  visibility(visible: boolean): void {
    if (visible) this.#clock.show(this.#now());
    else this.#clock.hide(this.#now());
  }

  // --- answers -----------------------------------------------------------------------------------

  answer(criterion: Criterion, verdict: ShownVerdict): void {
    const strengthKey = criterion === 'helpful' ? 'helpfulStrength' : 'safeStrength';
    const keep = preference(verdict) ? this.#answers[strengthKey] : null;
    this.#answers = { ...this.#answers, [criterion]: verdict, [strengthKey]: keep };
    this.#notice = `${criterion === 'helpful' ? 'More helpful' : 'Safer'}: ${verdictLabel[verdict]}`;
    // Not while flagging (the flag wants its reason) nor while changing an earlier decision (its
    // answers are all there already, so any one key would commit the change before it is complete).
    if (this.#autoAdvance && this.complete && !this.#flagging && !this.#editing) void this.submit();
  }

  setAutoAdvance(on: boolean): void {
    this.#autoAdvance = on;
    remember(this.#storage, AUTO_ADVANCE_KEY, on ? 'on' : 'off');
    this.#notice = on ? 'Auto-advance on: the second answer submits' : 'Auto-advance off: Enter submits';
  }

  toggleFold(): void {
    this.#folded = !this.#folded;
  }

  setStrength(criterion: Criterion, strength: Strength | null): void {
    if (!preference(this.#answers[criterion])) {
      this.#notice = 'A strength goes with an answer of A or B';
      return;
    }
    this.#answers = { ...this.#answers, [criterion === 'helpful' ? 'helpfulStrength' : 'safeStrength']: strength };
    this.#notice = `Strength: ${strength ?? 'none'}`;
  }

  /** slight -> clear -> strong -> none -> slight. */
  cycleStrength(criterion: Criterion): void {
    const current = this.#answers[criterion === 'helpful' ? 'helpfulStrength' : 'safeStrength'];
    const at = current === null ? -1 : strengths.indexOf(current);
    this.setStrength(criterion, at + 1 < strengths.length ? (strengths[at + 1] ?? null) : null);
  }

  setRationale(text: string): void {
    this.#answers = { ...this.#answers, rationale: text };
  }

  toggleFlag(): void {
    if (this.#flagging) {
      this.#flagging = false;
      this.#answers = { ...this.#answers, flag: null, flagNote: '' };
      this.#notice = 'Flag removed';
    } else {
      this.#flagging = true;
      this.#notice = 'Flag: choose why (1 broken, 2 truncated, 3 other), add a note, Enter';
    }
  }

  setFlag(reason: FlagReason): void {
    this.#flagging = true;
    this.#answers = { ...this.#answers, flag: reason };
    this.#notice = `Flag: ${flagLabel[reason].toLowerCase()}`;
  }

  setFlagNote(text: string): void {
    this.#answers = { ...this.#answers, flagNote: text };
  }

  // --- panels ------------------------------------------------------------------------------------

  toggleHelp(): void {
    this.#panel = this.#panel === 'help' ? 'none' : 'help';
  }
  toggleGuidelines(): void {
    this.#guidelines = !this.#guidelines;
  }
  closeGuidelines(): void {
    this.#guidelines = false;
  }
  closePanel(): void {
    this.#panel = 'none';
  }

  async toggleRecent(): Promise<void> {
    if (this.#panel === 'recent') {
      this.#panel = 'none';
      return;
    }
    this.#panel = 'recent';
    this.#recentIndex = 0;
    try {
      this.#recent = await this.#api.call('rating.recent', { limit: 10 });
      this.#error = null;
    } catch (error) {
      this.#error = errorShape(error);
    }
  }

  selectRecent(index: number): void {
    if (index >= 0 && index < this.#recent.length) this.#recentIndex = index;
  }

  moveRecent(step: number): void {
    const n = this.#recent.length;
    if (n > 0) this.#recentIndex = (this.#recentIndex + step + n) % n;
  }

  // --- decisions ---------------------------------------------------------------------------------

  /** Commits the answers on screen; the next item comes back with the answer. */
  async submit(): Promise<void> {
    const item = this.#item;
    if (!item || this.#busy) return;
    if (!this.canSubmit) {
      this.#notice = this.#flagging
        ? 'Choose why it is flagged: 1 broken, 2 truncated, 3 other'
        : 'Answer both questions first';
      return;
    }
    const a = this.#answers;
    const flagged = this.#flagging && a.flag !== null;
    await this.#decide(
      {
        assignmentId: item.assignmentId,
        helpful: a.helpful ?? undefined,
        safe: a.safe ?? undefined,
        helpfulStrength: preference(a.helpful) ? (a.helpfulStrength ?? undefined) : undefined,
        safeStrength: preference(a.safe) ? (a.safeStrength ?? undefined) : undefined,
        rationale: a.rationale.trim(),
        flag: flagged ? (a.flag ?? undefined) : undefined,
        flagNote: flagged ? a.flagNote.trim() : '',
        skip: false,
      },
      flagged ? 'Flagged' : 'Saved',
    );
  }

  /** Passes over the item: committed as skipped, no answers. */
  async skip(): Promise<void> {
    const item = this.#item;
    if (!item || this.#busy) return;
    await this.#decide(
      { assignmentId: item.assignmentId, rationale: this.#answers.rationale.trim(), skip: true },
      'Skipped',
    );
  }

  async #decide(input: Omit<RatingInput<'rating.submit'>, 'activeMs'>, what: string): Promise<void> {
    const editing = this.#editing;
    this.#busy = true;
    try {
      const activeMs = Math.min(this.#clock.elapsed(this.#now()), 24 * 3600 * 1000);
      const result = await this.#sendOnce({ ...input, activeMs, idempotencyKey: newSubmitKey() });
      this.#error = null;
      this.#progress = result.progress;
      if (editing) {
        this.#editing = false;
        this.#setAside = null;
        this.#notice = `${what}: the earlier decision is changed`;
      } else {
        this.#count += 1;
        this.#notice = `${what}. ${result.progress.mine.done} done`;
      }
      this.#show(result.next);
    } catch (error) {
      // The answers stay on screen: Enter tries again.
      this.#error = errorShape(error);
      this.#notice = 'Not saved';
    } finally {
      this.#reconnecting = false;
      this.#busy = false;
    }
  }

  /**
   * Sends a decision until an answer comes: the same input with the same key each time, so however
   * many of the tries reached the server it is stored once. A refusal by the server ends it.
   */
  async #sendOnce(input: RatingInput<'rating.submit'>): Promise<Output<'rating.submit'>> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const result = await this.#api.call('rating.submit', input);
        if (this.#reconnecting) this.#reconnecting = false;
        return result;
      } catch (error) {
        const shape = errorShape(error);
        if (!answerLost(shape)) throw error;
        this.#reconnecting = true;
        this.#error = null;
        this.#notice = 'Reconnecting: your decision will be saved once the server answers';
        await this.#sleep(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)] ?? 4000);
      }
    }
  }

  /** Takes the last decision back: its item returns with the answers it had. */
  async undo(): Promise<void> {
    if (this.#busy) return;
    if (this.#editing) this.cancelEdit();
    this.#busy = true;
    try {
      const result = await this.#api.call('rating.undo', {});
      this.#error = null;
      this.#progress = result.progress;
      // With nothing to take back, the server answers with the item already on screen.
      if (result.item?.rating) {
        this.#stash();
        this.#count = Math.max(0, this.#count - 1);
        this.#show(result.item);
        this.#notice = 'Took back the last decision: change it and press Enter';
      } else {
        this.#notice = 'Nothing to take back';
      }
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#busy = false;
    }
  }

  /** Opens one of the last decisions to change it; the item on screen waits, answers kept. */
  async openRecent(assignmentId: number): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const item = await this.#api.call('rating.open', { assignmentId });
      this.#error = null;
      if (!this.#editing) {
        this.#stash();
        this.#setAside = this.#item;
      }
      this.#editing = true;
      this.#panel = 'none';
      this.#show(item);
      this.#notice = 'Changing an earlier decision: Enter saves the change, Escape goes back';
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#busy = false;
    }
  }

  /** Leaves an earlier decision unchanged and goes back to the item that was on screen. */
  cancelEdit(): void {
    if (!this.#editing) return;
    this.#editing = false;
    const back = this.#setAside;
    this.#setAside = null;
    this.#show(back);
    this.#notice = 'Back to your current item';
  }

  /** Keeps the answers given to the item on screen, for when it returns. */
  #stash(): void {
    const item = this.#item;
    if (item && !this.#editing && this.#answers !== NO_ANSWERS) this.#drafts.set(item.assignmentId, this.#answers);
  }

  #show(item: RatingItem | null): void {
    let answers = NO_ANSWERS;
    if (item) {
      answers = item.rating ? answersOf(item.rating) : (this.#drafts.get(item.assignmentId) ?? NO_ANSWERS);
      this.#drafts.delete(item.assignmentId);
    }
    this.#item = item;
    this.#answers = answers;
    this.#flagging = answers.flag !== null;
    this.#clock.restart(this.#now());
  }

  // --- keys --------------------------------------------------------------------------------------

  /** What a key does here and now; see keyHelp for the map. */
  handleKey(press: KeyPress): KeyResult {
    if (press.modified) return NOT_OURS;
    const key = press.key.length === 1 ? press.key.toLowerCase() : press.key;

    // In a text field, typing is typing: Escape leaves the field, and Enter sends the flag note.
    if (press.field !== null) {
      if (key === actionKeys.back) return { handled: true, command: 'blur' };
      if (key === actionKeys.submit && press.field === 'note') {
        void this.submit();
        return DONE;
      }
      return NOT_OURS;
    }

    const scroll = SCROLL_KEYS[key];
    if (scroll) return this.#panel === 'recent' ? this.#recentKey(key) : { handled: false, command: scroll };
    // Held down, Enter or Backspace would commit or undo over and over.
    if (press.repeat) return { handled: this.#isOurs(key) };

    if ((actionKeys.help as readonly string[]).includes(key)) {
      this.toggleHelp();
      return DONE;
    }
    if (this.#panel === 'help') {
      if (key === actionKeys.back) {
        this.closePanel();
        return DONE;
      }
      return NOT_OURS;
    }
    if (this.#panel === 'recent') return this.#recentKey(key);
    // The guidelines lie over the item: G or Esc puts them away, other keys wait.
    if (this.#guidelines) {
      if (key === actionKeys.back || key === actionKeys.guidelines) {
        this.closeGuidelines();
        return DONE;
      }
      return NOT_OURS;
    }

    if (key === actionKeys.back) {
      // The innermost thing first: the flag, then the earlier decision being changed.
      if (this.#flagging) this.toggleFlag();
      else if (this.#editing) this.cancelEdit();
      else return NOT_OURS;
      return DONE;
    }
    if (key === actionKeys.guidelines) {
      this.toggleGuidelines();
      return DONE;
    }
    if (key === actionKeys.recent) {
      void this.toggleRecent();
      return DONE;
    }
    if (key === actionKeys.undo) {
      void this.undo();
      return DONE;
    }
    if (this.#phase !== 'ready' || !this.#item) return { handled: this.#isOurs(key) };
    const region = scrollKeys[key];
    if (region) return { handled: true, command: region };
    if (key === actionKeys.fold) {
      this.toggleFold();
      return DONE;
    }
    // One decision at a time: keys that change the item wait for the call in flight.
    if (this.#busy) return { handled: this.#isOurs(key) };

    const reason = flagKeys[key];
    if (this.#flagging && reason) {
      this.setFlag(reason);
      return { handled: true, command: 'focus-note' };
    }
    for (const criterion of ['helpful', 'safe'] as const) {
      const verdict = answerKeys[criterion][key];
      if (verdict) {
        this.answer(criterion, verdict);
        return DONE;
      }
      if (key === strengthKeys[criterion]) {
        this.cycleStrength(criterion);
        return DONE;
      }
    }
    switch (key) {
      case actionKeys.submit:
        void this.submit();
        return DONE;
      case actionKeys.skip:
        void this.skip();
        return DONE;
      case actionKeys.flag:
        this.toggleFlag();
        return DONE;
      case actionKeys.rationale:
        return { handled: true, command: 'focus-rationale' };
      default:
        return NOT_OURS;
    }
  }

  #recentKey(key: string): KeyResult {
    if (key === 'ArrowDown' || key === 'ArrowUp') {
      this.moveRecent(key === 'ArrowDown' ? 1 : -1);
      return DONE;
    }
    if (key === actionKeys.submit) {
      const chosen = this.#recent[this.#recentIndex];
      if (chosen) void this.openRecent(chosen.assignmentId);
      return DONE;
    }
    if (key === actionKeys.back || key === actionKeys.recent) {
      this.closePanel();
      return DONE;
    }
    return NOT_OURS;
  }

  #isOurs(key: string): boolean {
    return (
      Object.values(actionKeys).some((k) => (Array.isArray(k) ? k.includes(key) : k === key)) ||
      key in answerKeys.helpful ||
      key in answerKeys.safe ||
      key === strengthKeys.helpful ||
      key === strengthKeys.safe ||
      key in scrollKeys
    );
  }
}

/** A refusal of the link itself: unknown or replaced by a newer one (401), or not for this campaign (403). */
export function linkRefused(error: AppErrorShape | null): boolean {
  return error !== null && (error.code === 'unauthorized' || error.code === 'forbidden');
}
