/**
 * The wrong-token limiter lives in the server's memory (http/httpServer.ts, FailureLimiter): a
 * restarted `alol serve` starts with no count. This pins that down with real processes, so the
 * README's statement stays true: 20 wrong tokens block this address (429, the right token too);
 * after a restart on the same port the right token works at once and the count starts again from
 * nothing (20 more wrong ones to block). Acceptable because a restart takes seconds and is the
 * owner's own act; a guesser gains 20 tries per restart, against 192-bit tokens.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callAs, serveProcess } from '../helpers/served';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir('alol-limiter-');

describe('the wrong-token limiter across a restart', () => {
  it('is in memory: a restarted server has forgotten the count', async () => {
    const project = ['--project', join(tempDir(), 'project')];
    const guessUntilBlocked = async (base: string, owner: string): Promise<void> => {
      for (let i = 0; i < 20; i += 1) expect((await callAs(base, `guess-${i}`, 'app.info', {})).status).toBe(401);
      const blocked = await callAs(base, owner, 'app.info', {});
      expect(blocked.status).toBe(429);
    };

    const first = await serveProcess(['studio', '--port', '0', ...project]);
    const { url: base, port, token: owner } = first.listening;
    expect((await callAs(base, owner, 'app.info', {})).status).toBe(200);
    await guessUntilBlocked(base, owner);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const second = await serveProcess(['studio', '--port', String(port), ...project]);
    try {
      // Forgotten: the address is let in at once (a blocked address is refused whatever the
      // token), and 20 more guesses are needed to block it again.
      const owner2 = second.listening.token;
      expect((await callAs(base, owner2, 'app.info', {})).status).toBe(200);
      await guessUntilBlocked(base, owner2);
    } finally {
      second.child.kill('SIGTERM');
      await second.exit;
    }
  }, 120_000);
});
