/** The runs table and each run's metrics per step. */
import type { Db } from '../db/openDb';
import { AppError, RunBackend, RunConfig, type AppErrorShape, type RunSummary } from '../../shared/contract';
import { withoutUnusedHyperparameters } from '../../shared/algorithms';

interface RunRow {
  id: number;
  algo: RunSummary['algo'];
  status: RunSummary['status'];
  config: string;
  out_model: string;
  folder: string;
  step: number;
  total_steps: number | null;
  job_id: number | null;
  summary: string | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  tensor_backends: string;
}

export interface StoredRun extends RunSummary {
  /** The run's folder under the project's runs/: checkpoints and caches. */
  folder: string;
}

export class RunStore {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      insert: db.prepare<[string, string, string, string, string]>(
        "INSERT INTO runs (algo, status, config, out_model, folder, created_at) VALUES (?, 'running', ?, ?, ?, ?)",
      ),
      get: db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?'),
      list: db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY id DESC'),
      setJob: db.prepare<[number, number]>(
        "UPDATE runs SET job_id = ?, status = 'running', error = NULL, finished_at = NULL WHERE id = ?",
      ),
      progress: db.prepare<[number, number, number]>('UPDATE runs SET step = ?, total_steps = ? WHERE id = ?'),
      backends: db.prepare<[string, number]>('UPDATE runs SET tensor_backends = ? WHERE id = ?'),
      finish: db.prepare<[string, string | null, string | null, string, number]>(
        'UPDATE runs SET status = ?, summary = ?, error = ?, finished_at = ? WHERE id = ?',
      ),
      metric: db.prepare<[number, number, string, number]>(
        'INSERT OR REPLACE INTO run_metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)',
      ),
      metrics: db.prepare<[number, number], { step: number; name: string; value: number }>(
        'SELECT step, name, value FROM run_metrics WHERE run_id = ? AND step >= ? ORDER BY step, name',
      ),
      dropMetricsAfter: db.prepare<[number, number]>('DELETE FROM run_metrics WHERE run_id = ? AND step > ?'),
      orphans: db.prepare<[], { id: number }>(
        "SELECT r.id FROM runs r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.status = 'running' AND (j.id IS NULL OR j.status <> 'running')",
      ),
    };
  }

  create(config: RunConfig, folder: string, now = new Date()): number {
    return Number(
      this.q.insert.run(config.algo, JSON.stringify(config), config.out, folder, now.toISOString()).lastInsertRowid,
    );
  }

  get(id: number): StoredRun {
    const row = this.q.get.get(id);
    if (!row) throw new AppError('not_found', `no run ${id}`);
    return toRun(row);
  }

  list(): StoredRun[] {
    return this.q.list.all().map(toRun);
  }

  setJob(runId: number, jobId: number): void {
    this.q.setJob.run(jobId, runId);
  }

  progress(runId: number, step: number, totalSteps: number): void {
    this.q.progress.run(step, totalSteps, runId);
  }

  /**
   * The backend a job of the run computes on, when it starts: kept when it is the one the run was
   * on already, else appended, so a run resumed on another backend lists both.
   */
  recordBackend(runId: number, used: Omit<RunBackend, 'at'>, now = new Date()): void {
    this.db
      .transaction(() => {
        const list = this.get(runId).tensorBackends;
        const last = list.at(-1);
        if (last && last.backend === used.backend && last.adapter === used.adapter) return;
        this.q.backends.run(JSON.stringify([...list, { ...used, at: now.toISOString() }]), runId);
      })
      .immediate();
  }

  /** One step's metrics, committed together with the step counter. */
  record(runId: number, step: number, totalSteps: number, metrics: Record<string, number>): void {
    this.db
      .transaction(() => {
        for (const [name, value] of Object.entries(metrics))
          if (Number.isFinite(value)) this.q.metric.run(runId, step, name, value);
        this.q.progress.run(step, totalSteps, runId);
      })
      .immediate();
  }

  /** A resumed run starts again from its checkpoint: metrics logged after it are written anew. */
  rewindTo(runId: number, step: number): void {
    this.q.dropMetricsAfter.run(runId, step);
  }

  finish(
    runId: number,
    status: Exclude<RunSummary['status'], 'running'>,
    outcome: { summary?: Record<string, unknown>; error?: AppErrorShape },
    now = new Date(),
  ): void {
    this.q.finish.run(
      status,
      outcome.summary ? JSON.stringify(outcome.summary) : null,
      outcome.error ? JSON.stringify(outcome.error) : null,
      now.toISOString(),
      runId,
    );
  }

  metrics(runId: number, sinceStep = 0): { step: number; metrics: Record<string, number> }[] {
    const byStep = new Map<number, Record<string, number>>();
    for (const row of this.q.metrics.all(runId, sinceStep)) {
      const entry = byStep.get(row.step) ?? {};
      entry[row.name] = row.value;
      byStep.set(row.step, entry);
    }
    return [...byStep].map(([step, metrics]) => ({ step, metrics }));
  }

  /** Runs left 'running' by a job that is no longer running: resumable from their last checkpoint. */
  markInterrupted(): void {
    for (const { id } of this.q.orphans.all()) {
      this.finish(id, 'interrupted', {
        error: {
          code: 'interrupted',
          message: 'the run stopped before it finished; resume it to continue from its last checkpoint',
        },
      });
    }
  }
}

function toRun(row: RunRow): StoredRun {
  return {
    id: row.id,
    algo: row.algo,
    status: row.status,
    // Runs recorded before unused hyperparameters were refused carry them all (eps on an nll run).
    config: RunConfig.parse(withoutUnusedHyperparameters(JSON.parse(row.config) as RunConfig)),
    outModel: row.out_model,
    step: row.step,
    totalSteps: row.total_steps,
    jobId: row.job_id,
    summary: row.summary === null ? null : (JSON.parse(row.summary) as Record<string, unknown>),
    error: row.error === null ? null : (JSON.parse(row.error) as AppErrorShape),
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    tensorBackends: RunBackend.array().parse(JSON.parse(row.tensor_backends)),
    folder: row.folder,
  };
}
