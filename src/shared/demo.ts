/** The names npm start's demo loop gives what it makes; the Electron shell opens on its campaign. */
export const DEMO = {
  dataset: 'demo',
  base: 'demo-base',
  ref: 'demo-ref',
  alol: 'demo-alol',
  nll: 'demo-nll',
  campaign: 'demo-eval',
  annotator: 'you',
} as const;
