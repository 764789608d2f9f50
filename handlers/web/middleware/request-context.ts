import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AppEnv } from '../app-env';
import type { Clock } from '../../core/clock';

/**
 * Gives every request an id (API Gateway's, so access logs and app logs join; never the
 * client's, which could carry anything) and logs one line per request: ids, route pattern,
 * status, duration. Never a body, a header value, a token, an email or a name.
 */
export function requestContext(logger: Logger, clock: Clock): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = clock.now().getTime();
    const apiGatewayId = (c.env as { event?: { requestContext?: { requestId?: unknown } } } | undefined)?.event
      ?.requestContext?.requestId;
    const requestId =
      typeof apiGatewayId === 'string' && /^[\w-]{1,64}$/.test(apiGatewayId) ? apiGatewayId : randomUUID();
    c.set('requestId', requestId);
    // Most requests log only the request line below: the child logger is made when a route logs.
    let child: Logger | undefined;
    c.set('log', () => (child ??= logger.createChild({ persistentKeys: { requestId } })));
    c.header('x-request-id', requestId);
    await next();
    c.header('x-request-id', requestId);
    const status = c.res.status;
    const line = {
      requestId,
      method: c.req.method,
      route: routePath(c, -1),
      status,
      durationMs: clock.now().getTime() - started,
      userId: c.get('auth')?.userId,
    };
    if (status >= 500) logger.error('request', line);
    else logger.info('request', line);
  };
}
