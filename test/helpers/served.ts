/**
 * `alol serve` / `alol studio` as a real background process, for tests and benches that kill and
 * restart it: started with stdin closed, resolved on its "listening" JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { builtFile } from './built';

const bin = fileURLToPath(new URL('../../bin/alol.js', import.meta.url));

export interface Listening {
  event: 'listening';
  url: string;
  port: number;
  token: string;
  lanUrls: string[];
  links: string[];
}

export interface Served {
  child: ChildProcess;
  listening: Listening;
  /** The exit code (or signal name) once the process has ended. */
  exit: Promise<number | string>;
}

/** Starts `alol <args> --json --no-open`; resolves on its "listening" line, rejects if it exits first. */
export function serveProcess(args: readonly string[]): Promise<Served> {
  builtFile('main/cli.js');
  const child = spawn(process.execPath, [bin, ...args, '--json', '--no-open'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return new Promise((resolve, reject) => {
    void exit.then((how) =>
      reject(new Error(`alol ${args.join(' ')} exited (${how}) before listening. stderr:\n${stderr}`)),
    );
    if (!child.stdout) throw new Error('spawned without a stdout pipe');
    let listening = false;
    createInterface({ input: child.stdout }).on('line', (text) => {
      if (listening) return;
      let parsed: { event?: string };
      try {
        parsed = JSON.parse(text) as { event?: string };
      } catch {
        return;
      }
      if (parsed.event !== 'listening') return;
      listening = true;
      resolve({ child, listening: parsed as Listening, exit });
    });
  });
}

/** One API call with a token; throws only when no answer came (a network error). */
export async function callAs(
  base: string,
  token: string,
  method: string,
  input: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL(`/api/call/${method}`, base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, body };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends a call until an answer comes, as the rating page does with a submit: a network error or a
 * 5xx is a lost answer, tried again (the same input, so the same idempotency key) after a wait
 * that doubles from 50 ms to 1 s. Returns the answer and how many tries it took.
 */
export async function untilAnswered(
  base: () => string,
  token: string,
  method: string,
  input: unknown,
  giveUpAfterMs = 60_000,
): Promise<{ status: number; body: Record<string, unknown>; tries: number }> {
  const start = Date.now();
  for (let attempt = 0; ; attempt += 1) {
    try {
      const answer = await callAs(base(), token, method, input);
      if (answer.status < 500) return { ...answer, tries: attempt + 1 };
    } catch {
      // No answer: the server is down or restarting.
    }
    if (Date.now() - start > giveUpAfterMs) throw new Error(`${method}: no answer in ${giveUpAfterMs} ms`);
    await sleep(Math.min(50 * 2 ** attempt, 1000));
  }
}
