/**
 * Imported first by main.ts, before anything that builds a zod schema. Zod probes `new Function`
 * when it builds an object schema, to compile fast parsers; our Content-Security-Policy forbids
 * eval, so the probe is reported as a CSP violation even though zod catches it. Jitless mode skips
 * the probe; parsing stays correct, only slower, which the few small payloads here never notice.
 */
import { z } from 'zod';

z.config({ jitless: true });
