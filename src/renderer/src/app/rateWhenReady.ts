import type { Client } from '../lib/client';
import type { Studio } from './studio';

const POLL_MS = 3000;

/**
 * npm start's link names the demo loop's campaign: the studio shows the runs while the loop trains,
 * the campaign while its responses are sampled, then the Rate screen as the local annotator. A
 * user who has gone to another screen meanwhile is left there.
 */
export async function rateWhenReady(
  client: Client,
  studio: Studio,
  campaign: string,
  annotatorName = 'you',
): Promise<void> {
  const { app, campaigns } = studio;
  app.show('runs');
  let shown = app.screen;
  const still = () => app.screen === shown;
  for (;;) {
    const summary = await client.call('campaigns.get', { campaign }).catch(() => null);
    if (summary?.status === 'failed' || !still()) return;
    if (summary?.status === 'ready') break;
    if (summary?.status === 'preparing' && shown === 'runs') {
      app.show('campaigns');
      campaigns.openCampaign(campaign);
      shown = app.screen;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const { annotator } = await client.call('annotators.add', { campaign, name: annotatorName, link: false });
  if (still()) app.rate({ campaign, annotator: annotator.id });
}
