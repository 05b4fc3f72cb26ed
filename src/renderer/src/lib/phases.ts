/** Words for the phases jobs report (jobs.progress), shared by every view that follows a job. */
import type { JobProgress } from '../../../shared/contract';
import { capitalise, count } from './format';

/** A phase not listed here shows as it comes, capitalised. */
const phaseLabels: Record<string, string> = {
  tokenizer: 'Training the tokenizer',
  weights: 'Initialising the weights',
  reading: 'Reading the folder',
  writing: 'Writing the checkpoint',
  loading: 'Loading the model',
  generating: 'Generating',
  scoring: 'Scoring',
  'value targets': 'Decoding value targets',
  'value head': 'Fitting the value head',
  advantages: 'Computing advantages',
  training: 'Training',
  saving: 'Saving the model',
};

/** "Fitting the value head (epochs) · 1 of 2 · message". */
export function phaseText(progress: Pick<JobProgress, 'phase' | 'done' | 'total' | 'message'>): string {
  const { phase, done, total, message } = progress;
  const amount = total !== null ? `${count(done)} of ${count(total)}` : done > 0 ? count(done) : '';
  const label = phaseLabels[phase] ?? capitalise(phase);
  return [label, amount, message ?? ''].filter((part) => part !== '').join(' · ');
}
