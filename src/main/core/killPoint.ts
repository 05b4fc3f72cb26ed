/**
 * A test hook for crash safety: with ALOL_TEST_KILL_AT=PHASE:COUNT in its environment, a process
 * kills itself with SIGKILL the COUNT-th time it passes killPoint(PHASE), exactly as `kill -9`
 * from outside would, so a test can stop a job at a chosen moment (a value-target decode, the
 * advantage pass, a step, a file of a checkpoint write) and check what a resume makes of it.
 * Without the variable (every real run) killPoint only returns.
 *
 *   ALOL_TEST_KILL_AT=checkpoint:5   // the 5th stage of checkpoint writing (a temp file written, a rename)
 */
interface KillAt {
  phase: string;
  count: number;
}

let parsed: KillAt | null | undefined;
const passed = new Map<string, number>();

function parseAt(spec: string | undefined): KillAt | null {
  const match = spec ? /^([\w.-]+):(\d+)$/.exec(spec) : null;
  return match ? { phase: match[1]!, count: Number(match[2]) } : null;
}

function killAt(): KillAt | null {
  if (parsed !== undefined) return parsed;
  parsed = parseAt(process.env.ALOL_TEST_KILL_AT);
  return parsed;
}

/** Other faults a test injects at the same points, each by a variable of the same PHASE:COUNT form. */
const faults: { at: KillAt; passed: number; action: () => void }[] = [];

/**
 * Registers a fault the module owning a resource can inject when the variable `name` is set: the
 * webgpu backend destroys its device (ALOL_TEST_LOSE_WEBGPU_AT=step:3), as a driver reset would.
 * Without the variable nothing is registered.
 */
export function onTestPoint(name: string, action: () => void): void {
  const at = parseAt(process.env[name]);
  if (at) faults.push({ at, passed: 0, action });
}

/**
 * Kills this process (SIGKILL) when ALOL_TEST_KILL_AT names this phase and this is the pass it
 * counts; first runs a fault registered for this pass (onTestPoint).
 */
export function killPoint(phase: string): void {
  for (const f of faults) if (f.at.phase === phase && ++f.passed === f.at.count) f.action();
  const at = killAt();
  if (at === null || at.phase !== phase) return;
  const n = (passed.get(phase) ?? 0) + 1;
  passed.set(phase, n);
  if (n !== at.count) return;
  process.kill(process.pid, 'SIGKILL');
  // The kernel may take a moment to end every thread: this one does nothing more meanwhile (seen
  // otherwise: the next checkpoint's folder begun after a kill meant to come before it).
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
}
