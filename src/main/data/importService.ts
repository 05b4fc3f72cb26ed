/**
 * Import as a service: parse and validate the whole file first, then store it in one transaction.
 * A file with any problem stores nothing and reports every problem (file, line, field).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { AppError, type FieldMapping, type ImportFormat, type ImportSummary } from '../../shared/contract';
import type { DatasetStore } from './datasetStore';
import { parseImportFile, type ParsedExample, type ParsedPair } from './import/parseFile';

export interface ImportFileOptions {
  path: string;
  /** The name the user knows the file by (an upload's original name); defaults to the path's base name. */
  displayName?: string;
  name: string;
  format: ImportFormat;
  fields: FieldMapping;
  onProgress?: (phase: 'reading' | 'writing', done: number, total: number) => void;
  signal?: AbortSignal;
}

export async function importFile(store: DatasetStore, options: ImportFileOptions): Promise<ImportSummary> {
  const displayName = options.displayName ?? basename(options.path);
  const parsed = await parseImportFile(options.path, {
    format: options.format,
    fields: options.fields,
    displayName,
    onProgress: (done, total) => options.onProgress?.('reading', done, total),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (parsed.issues.length > 0) {
    const n = parsed.issues.length;
    throw new AppError(
      'import_invalid',
      `${displayName}: ${n} problem${n === 1 ? '' : 's'} found; nothing was imported`,
      parsed.issues,
    );
  }
  const { sha256, bytes } = await hashFile(options.path);
  options.signal?.throwIfAborted();
  const total = parsed.examples.length + parsed.pairs.length;
  options.onProgress?.('writing', 0, total);
  const summary = store.addVersion({
    name: options.name,
    format: parsed.format,
    sourceFile: displayName,
    sourceSha256: sha256,
    sourceBytes: bytes,
    summary: summarize(options.name, parsed.format, parsed.rows, parsed.examples, parsed.pairs),
    examples: parsed.examples,
    pairs: parsed.pairs,
  });
  options.onProgress?.('writing', total, total);
  return summary;
}

export function summarize(
  dataset: string,
  format: ImportSummary['format'],
  rows: number,
  examples: readonly ParsedExample[],
  pairs: readonly ParsedPair[],
): Omit<ImportSummary, 'version'> {
  let rewardMin: number | null = null;
  let rewardMax: number | null = null;
  let rewardSum = 0;
  let rewarded = 0;
  let emptyResponses = 0;
  let duplicates = 0;
  const seen = new Set<string>();
  const isDuplicate = (...parts: string[]): boolean => {
    // A digest, not the text itself: keeps the set small on large files.
    const key = createHash('sha1').update(JSON.stringify(parts)).digest('base64');
    if (seen.has(key)) return true;
    seen.add(key);
    return false;
  };
  for (const e of examples) {
    if (e.reward !== null) {
      rewardMin = rewardMin === null ? e.reward : Math.min(rewardMin, e.reward);
      rewardMax = rewardMax === null ? e.reward : Math.max(rewardMax, e.reward);
      rewardSum += e.reward;
      rewarded++;
    }
    if (e.response.trim() === '') emptyResponses++;
    if (isDuplicate('e', e.prompt, e.response)) duplicates++;
  }
  for (const p of pairs) {
    if (p.chosen.trim() === '') emptyResponses++;
    if (p.rejected.trim() === '') emptyResponses++;
    if (isDuplicate('p', p.prompt, p.chosen, p.rejected)) duplicates++;
  }
  return {
    dataset,
    format,
    rows,
    examples: examples.length,
    pairs: pairs.length,
    rewardMin,
    rewardMax,
    rewardMean: rewarded > 0 ? rewardSum / rewarded : null,
    duplicates,
    emptyResponses,
  };
}

async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
