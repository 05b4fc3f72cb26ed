import { absolutePath } from '../../../shared/contract';

/**
 * Paths typed here are read on the machine that runs the studio, which is not always this
 * browser's: an absolute path is the only kind that means the same thing to both. The rule is the
 * contract's (absolutePath), the one the backend applies.
 */
export function pathProblem(path: string): string | null {
  const trimmed = path.trim();
  if (trimmed === '') return null;
  return absolutePath.safeParse(trimmed).success ? null : 'must be an absolute path, such as /home/me/models/gpt2';
}
