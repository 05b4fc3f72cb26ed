/**
 * Paths typed here are read on the machine that runs the studio, which is not always this
 * browser's: an absolute path is the only kind that means the same thing to both.
 */
export function pathProblem(path: string): string | null {
  const trimmed = path.trim();
  if (trimmed === '') return null;
  const absolute = trimmed.startsWith('/') || /^[A-Za-z]:[\\/]/.test(trimmed) || trimmed.startsWith('\\\\');
  return absolute ? null : 'must be an absolute path, such as /home/me/models/gpt2';
}
