import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseImportFile } from '../../src/main/data/import/parseFile';

// Shared test data lives beside the project, never inside it (see ../shared/data/README.md).
const REAL_FILE = fileURLToPath(new URL('../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));
const exists = existsSync(REAL_FILE);

describe('the real HH-RLHF harmless-base test split', () => {
  it('is reported when absent', () => {
    if (!exists) console.warn(`NOT TESTED: ${REAL_FILE} is absent, so the HH-RLHF real-data test did not run`);
    expect(typeof exists).toBe('boolean');
  });

  it.runIf(exists)('parses as 2,312 pairs with no issues, each splitting its two transcripts exactly', async () => {
    const result = await parseImportFile(REAL_FILE, { format: 'auto', fields: {} });
    expect(result.issues).toEqual([]);
    expect(result.format).toBe('hh-rlhf');
    expect(result.rows).toBe(2312);
    expect(result.pairs).toHaveLength(2312);
    expect(result.examples).toHaveLength(0);

    // The originals, read independently of the importer.
    const originals = gunzipSync(readFileSync(REAL_FILE))
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { chosen: string; rejected: string });
    expect(originals).toHaveLength(2312);

    result.pairs.forEach((pair, i) => {
      const original = originals[i];
      expect(pair.line).toBe(i + 1);
      expect(pair.prompt.endsWith('\n\nAssistant:')).toBe(true);
      expect(pair.prompt + pair.chosen).toBe(original?.chosen);
      expect(pair.prompt + pair.rejected).toBe(original?.rejected);
      expect(pair.metadata).toBeNull();
    });

    const count = (test: (reply: string) => boolean, side: 'chosen' | 'rejected'): number =>
      result.pairs.filter((p) => test(p[side])).length;
    const empty = (reply: string): boolean => reply === '';
    const blank = (reply: string): boolean => reply.trim() === '';
    const counts = {
      emptyChosen: count(empty, 'chosen'),
      emptyRejected: count(empty, 'rejected'),
      blankChosen: count(blank, 'chosen'),
      blankRejected: count(blank, 'rejected'),
    };
    console.log(
      `HH-RLHF harmless-base test: replies empty (""): chosen ${counts.emptyChosen}, rejected ${counts.emptyRejected}; ` +
        `whitespace only: chosen ${counts.blankChosen}, rejected ${counts.blankRejected}`,
    );
    // No reply is the empty string; four chosen replies are a lone space (the assistant said nothing).
    expect(counts).toEqual({ emptyChosen: 0, emptyRejected: 0, blankChosen: 4, blankRejected: 0 });
    expect(result.pairs.filter((p) => blank(p.chosen)).map((p) => p.line)).toEqual([87, 517, 926, 1104]);

    // Replies that themselves contain an "Assistant:" turn: where reading one transcript alone fails.
    const tricky = result.pairs
      .filter((p) => p.chosen.includes('\n\nAssistant:') || p.rejected.includes('\n\nAssistant:'))
      .map((p) => p.line);
    expect(tricky).toEqual([1255, 1689, 1951, 1953, 2037]);
  });
});
