/**
 * Saving what the studio sends as a file in the browser: a Blob behind an object URL, clicked as a
 * download link and let go. Needs no CSP exception: nothing is loaded into the page, and the bytes
 * come through the contract's calls like any answer.
 */
export function saveFile(filename: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken the bytes by the next task; the URL would keep them alive otherwise.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function base64Blob(base64: string, type = 'application/octet-stream'): Blob {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type });
}

/** Where files can be saved from the page: a browser over HTTP (the Electron window takes a path instead). */
export function canDownload(): boolean {
  return typeof window !== 'undefined' && window.alol === undefined;
}
