/**
 * GPT-2's reversible map between the 256 byte values and 256 printable Unicode characters, so
 * that every token, even half of a UTF-8 sequence, is a visible string in vocab.json and
 * merges.txt. Printable Latin-1 bytes stand for themselves; the other 68 (controls, space, NBSP,
 * soft hyphen) are moved to U+0100 onwards in byte order.
 *
 *   byteToChar[0x41] === 'A'      byteToChar[0x20] === 'Ġ' (U+0120)     byteToChar[0x0a] === 'Ċ'
 *   charToByte.get('Ġ') === 0x20
 *
 * BYTE_ORDER is the order the bytes get their characters in, which is also the order of the
 * first 256 ids of GPT-2's vocabulary: '!' (0x21) is id 0, and the space (0x20) is id 220.
 */

function isPrintable(b: number): boolean {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

function buildByteOrder(): number[] {
  const order: number[] = [];
  for (let b = 0; b < 256; b++) if (isPrintable(b)) order.push(b);
  for (let b = 0; b < 256; b++) if (!isPrintable(b)) order.push(b);
  return order;
}

/** The 256 byte values, printable ones first: GPT-2's byte token ids are positions in this list. */
export const BYTE_ORDER: readonly number[] = buildByteOrder();

function buildByteToChar(): string[] {
  const chars: string[] = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(isPrintable(b) ? b : 256 + shifted++);
  return chars;
}

/** byteToChar[b] is the character that stands for byte b in a token's text. */
export const byteToChar: readonly string[] = buildByteToChar();

/** The inverse of byteToChar. */
export const charToByte: ReadonlyMap<string, number> = new Map(byteToChar.map((c, b) => [c, b]));

/** The byte-level text of some bytes: bytesToTokenText(utf8('hi there')) === 'hiĠthere'. */
export function bytesToTokenText(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += byteToChar[b];
  return text;
}

/** The bytes of a byte-level token text, or null when one of its characters stands for no byte. */
export function tokenTextToBytes(text: string): Uint8Array | null {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const b = charToByte.get(text[i] ?? '');
    if (b === undefined) return null;
    bytes[i] = b;
  }
  return bytes;
}
