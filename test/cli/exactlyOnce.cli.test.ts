/**
 * Exactly-once ratings over retries, with `alol serve` as a real process: ten clients rate in
 * bursts over HTTP, each submit with an idempotency key of its own, while the server is killed with
 * SIGKILL mid-burst (twice) and restarted on the same port. Each client sends a submit whose answer
 * it did not get again, with the same key, until an answer comes, and goes on from the item that
 * answer hands out. Then `alol ratings export --format raw` (another process) holds every
 * acknowledged rating exactly once: none twice, none edited by its own repeat, and every submit
 * that was in flight at a kill present once after its retry. Some acknowledged submits are sent a
 * second time on purpose (an answer lost on its way back), and the same key with other content is
 * refused with 409.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { alol, type CliRun } from '../helpers/cli';
import { callAs, serveProcess, sleep, untilAnswered, type Served } from '../helpers/served';
import { useSuiteTempDir } from '../helpers/tempDir';

const C = 'once';
const CLIENTS = 10;
const PER_CLIENT = 24;
const BURST = 4;
const VERDICTS = ['left', 'right', 'both_good', 'both_bad'] as const;

interface Sent {
  client: number;
  rationale: string;
  helpful: string;
  tries: number;
}

describe('exactly-once submits across kill -9 and restart', () => {
  const dir = useSuiteTempDir('alol-once-');
  let p: string[];
  const ok = (run: CliRun) => {
    expect(run.status, run.stderr).toBe(0);
    return run;
  };

  beforeAll(() => {
    p = ['--project', join(dir(), 'project')];
    const file = join(dir(), 'pairs.jsonl');
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ prompt: `Prompt ${i}: how?`, chosen: `Answer ${i}, kindly.`, rejected: `Answer ${i}, curtly.` }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    ok(alol(['import', file, '--name', 'pairs', ...p]));
    ok(
      alol([
        'campaign',
        'create',
        '--name',
        C,
        '--pairs',
        'pairs',
        '--n',
        'all',
        '--overlap',
        '1',
        '--gold',
        '0',
        ...p,
      ]),
    );
  }, 120_000);

  it('stores each acknowledged rating once and every retried one after the restart', async () => {
    let served: Served = await serveProcess(['serve', '--campaign', C, '--port', '0', ...p]);
    const port = served.listening.port;
    const base = served.listening.url;
    const owner = served.listening.token;
    const tokens: string[] = [];
    for (let i = 0; i < CLIENTS; i += 1) {
      const added = await callAs(base, owner, 'annotators.add', { campaign: C, name: `client-${i}`, link: true });
      expect(added.status).toBe(200);
      tokens.push(added.body.token as string);
    }

    const acknowledged: Sent[] = [];
    let killed = 0;
    let repeated = 0;
    // The killer: SIGKILL once 40 and again once 140 submits are acknowledged, each time in the
    // middle of the clients' bursts, then a restart on the same port.
    const killer = (async () => {
      for (const at of [40, 140]) {
        while (acknowledged.length < at) await sleep(2);
        const dead = served;
        dead.child.kill('SIGKILL');
        expect(await dead.exit).toBe('SIGKILL');
        killed += 1;
        await sleep(300);
        served = await serveProcess(['serve', '--campaign', C, '--port', String(port), ...p]);
        expect(served.listening.port).toBe(port);
      }
    })();

    const client = async (i: number): Promise<void> => {
      const token = tokens[i] as string;
      const first = await untilAnswered(() => base, token, 'rating.next', {});
      let item = first.body.item as { assignmentId: number } | null;
      for (let n = 0; n < PER_CLIENT; n += 1) {
        if (!item) throw new Error(`client ${i} ran out of items`);
        const helpful = VERDICTS[(i + n) % 4] as string;
        const rationale = `client ${i} decision ${n}`;
        const input = {
          assignmentId: item.assignmentId,
          helpful,
          safe: 'both_good',
          rationale,
          activeMs: 100 + n,
          idempotencyKey: `c${i}-n${n}-${'x'.repeat(16)}`,
        };
        const answer = await untilAnswered(() => base, token, 'rating.submit', input);
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        acknowledged.push({ client: i, rationale, helpful, tries: answer.tries });
        const next = answer.body.next as { assignmentId: number } | null;
        if (n % 6 === 5) {
          // An answer lost on its way back looks like this to the server: the same submit again.
          // It is answered as the first was, and changes nothing.
          const repeat = await untilAnswered(() => base, token, 'rating.submit', input);
          expect(repeat.status).toBe(200);
          expect((repeat.body.next as { assignmentId: number } | null)?.assignmentId).toBe(next?.assignmentId);
          repeated += 1;
        }
        if (n === 7 && i === 0) {
          // The same key with other content is refused in words.
          const other = await untilAnswered(() => base, token, 'rating.submit', {
            ...input,
            helpful: helpful === 'left' ? 'right' : 'left',
          });
          expect(other.status).toBe(409);
          expect((other.body.error as { message: string }).message).toContain('was already used for another answer');
        }
        item = next;
        // Bursts: BURST submits back to back, then a pause.
        if (n % BURST === BURST - 1) await sleep(20 + ((i * 7 + n) % 5) * 10);
      }
    };
    await Promise.all([killer, ...Array.from({ length: CLIENTS }, (_, i) => client(i))]);
    served.child.kill('SIGTERM');
    expect(await served.exit).toBe(0);
    expect(killed).toBe(2);

    const out = join(dir(), 'raw.jsonl');
    ok(alol(['ratings', 'export', C, '--format', 'raw', '--out', out, ...p]));
    const rows = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(
        (l) => JSON.parse(l) as { item: number; annotator: string; repeat: boolean; rationale: string; edits: number },
      );

    // Every acknowledged submit exactly once, and nothing else.
    expect(acknowledged).toHaveLength(CLIENTS * PER_CLIENT);
    expect(rows).toHaveLength(acknowledged.length);
    const byRationale = new Map<string, number>();
    for (const r of rows) byRationale.set(r.rationale, (byRationale.get(r.rationale) ?? 0) + 1);
    for (const a of acknowledged) expect(byRationale.get(a.rationale), a.rationale).toBe(1);
    // No item rated twice by one annotator, and no rating applied twice (an edit is a second apply).
    expect(new Set(rows.map((r) => `${r.item}/${r.annotator}/${r.repeat}`)).size).toBe(rows.length);
    expect(rows.filter((r) => r.edits !== 0)).toEqual([]);
    for (const r of rows)
      expect(r.rationale.startsWith(`client ${r.annotator.slice('client-'.length)} `), r.rationale).toBe(true);

    // The kills caught submits in flight: those were retried and each is there once.
    const retried = acknowledged.filter((a) => a.tries > 1);
    console.info(
      `exactly-once: ${acknowledged.length} acknowledged, ${retried.length} after a retry across ${killed} kills, ${repeated} sent twice`,
    );
    expect(repeated).toBeGreaterThan(0);
    expect(retried.length).toBeGreaterThan(0);
    for (const a of retried) expect(byRationale.get(a.rationale)).toBe(1);
  }, 180_000);
});
