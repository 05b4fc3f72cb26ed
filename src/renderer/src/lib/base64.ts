/**
 * Base64 of raw bytes, for uploads.append. `String.fromCharCode(...bytes)` over a whole 4 MiB slice
 * would pass four million arguments and overflow the stack, so the bytes go through in runs small
 * enough for any engine's argument limit, then btoa encodes the joined binary string once.
 */
const RUN = 0x8000;

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let start = 0; start < bytes.length; start += RUN) {
    parts.push(String.fromCharCode(...bytes.subarray(start, start + RUN)));
  }
  return btoa(parts.join(''));
}
