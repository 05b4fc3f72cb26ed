import { describe, expect, it } from 'vitest';
import { DEMO, seedDemoProject, type DemoSizes } from '../../src/main/workflows/demoProject';
import { call, useBackends } from '../helpers/backend';
import { TINY_MODEL } from '../helpers/campaign';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const openBackend = useBackends();

/** The loop at a size that runs in seconds: the same steps, jobs and stores as npm start's. */
const TINY: DemoSizes = {
  trainPrompts: 20,
  model: TINY_MODEL,
  refSteps: 4,
  steps: 3,
  batch: 4,
  lr: 1e-3,
  valueEpochs: 1,
  maxNewTokens: 8,
  items: 5,
};

describe('npm start on a new project', () => {
  it('runs the whole loop once (data, model, reference, A-LoL and NLL, campaign) and continues rather than repeats', async () => {
    const backend = openBackend(tempDir());
    const lines: string[] = [];
    const outcome = await seedDemoProject(backend, (line) => lines.push(line), TINY);
    expect(outcome?.campaign).toBe(DEMO.campaign);
    expect((await call(backend, 'models.list', {})).map((m) => m.name).sort()).toEqual(
      [DEMO.alol, DEMO.base, DEMO.nll, DEMO.ref].sort(),
    );
    const runs = await call(backend, 'runs.list', {});
    expect(runs.map((r) => [r.algo, r.outModel, r.status]).sort()).toEqual(
      [
        ['a_lol', DEMO.alol, 'succeeded'],
        ['nll', DEMO.nll, 'succeeded'],
        ['nll', DEMO.ref, 'succeeded'],
      ].sort(),
    );
    const campaign = await call(backend, 'campaigns.get', { campaign: DEMO.campaign });
    expect(campaign).toMatchObject({ status: 'ready', systems: [DEMO.alol, DEMO.nll], items: 5, goldItems: 2 });
    expect(campaign.annotators.map((a) => a.name)).toEqual([DEMO.annotator]);
    const item = await call(backend, 'rating.next', { campaign: DEMO.campaign, annotator: outcome!.annotator });
    expect(item.item).not.toBeNull();
    expect(lines.join('\n')).toMatch(/ready to rate/);

    // A second start finds everything in place: no new run, no new campaign.
    const again = await seedDemoProject(backend, () => undefined, TINY);
    expect(again).toEqual(outcome);
    expect((await call(backend, 'runs.list', {})).length).toBe(3);
    expect((await call(backend, 'campaigns.list', {})).length).toBe(1);
  }, 180_000);

  it('leaves a project with data of its own alone', async () => {
    const backend = openBackend(tempDir());
    await call(backend, 'datasets.demo', { name: 'mine', trainPrompts: 10 });
    expect(await seedDemoProject(backend, () => undefined, TINY)).toBeNull();
    expect((await call(backend, 'datasets.list', {})).map((d) => d.name)).toEqual(['mine']);
  });
});
