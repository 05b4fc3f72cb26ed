import type { Db } from '../db/openDb';
import { AppError, type AppErrorShape, type Job, type JobStatus } from '../../shared/contract';

interface JobRow {
  id: number;
  kind: Job['kind'];
  status: JobStatus;
  params: string;
  result: string | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

/** The jobs table: what ran, with what parameters, and how it ended. */
export class JobStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare<[string, string, number, string]>(
        "INSERT INTO jobs (kind, status, params, owner_pid, created_at) VALUES (?, 'running', ?, ?, ?)",
      ),
      finish: db.prepare<[JobStatus, string | null, string | null, string, number]>(
        "UPDATE jobs SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'running'",
      ),
      get: db.prepare<[number], JobRow>('SELECT * FROM jobs WHERE id = ?'),
      list: db.prepare<[number], JobRow>('SELECT * FROM jobs ORDER BY id DESC LIMIT ?'),
      running: db.prepare<[], { id: number; owner_pid: number }>(
        "SELECT id, owner_pid FROM jobs WHERE status = 'running'",
      ),
    };
  }

  create(kind: Job['kind'], params: Record<string, unknown>, now = new Date()): number {
    return Number(this.q.insert.run(kind, JSON.stringify(params), process.pid, now.toISOString()).lastInsertRowid);
  }

  finish(
    id: number,
    status: Exclude<JobStatus, 'running'>,
    outcome: { result?: Record<string, unknown>; error?: AppErrorShape },
    now = new Date(),
  ): Job {
    this.q.finish.run(
      status,
      outcome.result ? JSON.stringify(outcome.result) : null,
      outcome.error ? JSON.stringify(outcome.error) : null,
      now.toISOString(),
      id,
    );
    return this.get(id);
  }

  get(id: number): Job {
    const row = this.q.get.get(id);
    if (!row) throw new AppError('not_found', `no job ${id}`);
    return toJob(row);
  }

  list(limit: number): Job[] {
    return this.q.list.all(limit).map(toJob);
  }

  /**
   * Jobs whose backend process is gone are marked failed: nobody will finish them now. Jobs of a
   * backend still alive (a studio open beside the CLI) are left alone.
   */
  markInterrupted(): number {
    const ids = this.q.running
      .all()
      .filter((r) => !processAlive(r.owner_pid))
      .map((r) => r.id);
    for (const id of ids) {
      this.finish(id, 'failed', { error: { code: 'interrupted', message: 'the studio stopped while this job ran' } });
    }
    return ids.length;
  }
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    params: JSON.parse(row.params) as Record<string, unknown>,
    result: row.result === null ? null : (JSON.parse(row.result) as Record<string, unknown>),
    error: row.error === null ? null : (JSON.parse(row.error) as AppErrorShape),
  };
}

/** Whether a process of this id exists (a store's owner, a staging set's writer). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
