/**
 * The Content-Security-Policy of every page of the studio. Nothing inline, nothing remote: scripts,
 * styles, images and fonts come from the studio itself, and calls go only back to it.
 */
const pageDirectives = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
];

/** As a response header (HTTP mode, Electron): frame-ancestors works only there. */
export const CONTENT_SECURITY_POLICY = [...pageDirectives, "frame-ancestors 'none'"].join('; ');

/** In the page's meta tag (built into index.html), which browsers read without frame-ancestors. */
export const CONTENT_SECURITY_POLICY_META = pageDirectives.join('; ');
