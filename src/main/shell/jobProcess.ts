/**
 * Entry of a job process: one job per process, so a crash or out-of-memory in heavy work loses
 * nothing else. It opens its own SQLite connection (WAL), runs the job, streams progress, and exits.
 */
import { openDb } from '../db/openDb';
import { projectPaths } from '../core/project';
import { errorShape } from '../core/errors';
import { executeJob } from '../app/jobKinds';
import type { FromJob, ToJob } from '../jobs/jobMessages';

const PROGRESS_INTERVAL_MS = 100;

function send(message: FromJob): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function run(message: Extract<ToJob, { type: 'start' }>, signal: AbortSignal): Promise<void> {
  const paths = projectPaths(message.projectDir);
  const db = openDb(paths.db);
  let last = 0;
  try {
    const result = await executeJob(message.kind, message.params, {
      jobId: message.jobId,
      db,
      paths,
      signal,
      progress: (update) => {
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS && update.done !== update.total) return;
        last = now;
        void send({ type: 'progress', ...update });
      },
      emit: (event) => void send({ type: 'event', event }),
    });
    await send({ type: 'result', result });
  } catch (error) {
    await send({ type: 'error', error: errorShape(error) });
  } finally {
    db.close();
  }
}

if (!process.send) {
  console.error('job.js is started by the studio backend as a forked process, not by hand');
  process.exit(2);
}

// The studio that started this job is gone (killed, crashed): stop at once; a run resumes later
// from its last checkpoint, and nothing half-written is committed.
let done = false;
process.on('disconnect', () => process.exit(done ? 0 : 3));

const controller = new AbortController();
process.on('message', (message: ToJob) => {
  if (message.type === 'cancel') controller.abort();
  else if (message.type === 'start') {
    void run(message, controller.signal).finally(() => {
      done = true;
      process.disconnect();
    });
  }
});
