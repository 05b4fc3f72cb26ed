import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/api/backend';
import { DEMO_DATASET, DEMO_MODEL, seedDemoProject } from '../../src/main/api/demoProject';
import { call, nextEvent, openBackend } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const backends: Backend[] = [];
afterEach(() => {
  for (const b of backends.splice(0)) b.close();
});

describe('npm start on a new project', () => {
  it('seeds the demo dataset and model once, and leaves a project with data alone', async () => {
    const backend = openBackend(tempDir());
    backends.push(backend);
    const lines: string[] = [];
    const made = nextEvent(backend, 'jobs.finished');
    await seedDemoProject(backend, (line) => lines.push(line));
    expect((await made).status).toBe('succeeded');
    expect((await call(backend, 'datasets.list', {})).map((d) => d.name)).toEqual([DEMO_DATASET]);
    expect((await call(backend, 'models.list', {})).map((m) => m.name)).toEqual([DEMO_MODEL]);
    expect(lines.join('\n')).toMatch(/created the demo dataset/);

    await seedDemoProject(backend, (line) => lines.push(line));
    expect((await call(backend, 'datasets.list', {})).length).toBe(1);
    expect(lines).toHaveLength(1);
  });
});
