import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../api-error';
import type { AppEnv } from '../app-env';

/** No API body nests deeper than this; the deepest schema (a chat context) needs a handful of levels. */
const MAX_JSON_DEPTH = 32;

/** How deep a JSON text nests, counted without parsing it (brackets inside strings do not count). */
export function jsonDepth(text: string, stopAbove = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > stopAbove) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Refuses a JSON body nested beyond `MAX_JSON_DEPTH` with 400 before anything parses or walks it:
 * 100 000 levels fit in 256 KiB and would exhaust the stack of whatever recursed first.
 */
export function jsonDepthLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.header('content-type')?.toLowerCase().includes('json')) {
      const depth = jsonDepth(await c.req.text());
      if (depth > MAX_JSON_DEPTH) {
        throw new ApiError(
          400,
          'VALIDATION_ERROR',
          `The body nests deeper than ${MAX_JSON_DEPTH} levels; send a flatter JSON object`,
        );
      }
    }
    await next();
  };
}
