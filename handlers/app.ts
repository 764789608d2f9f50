import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Deps } from './deps';
import { ApiError, errorResponse, fromHttpException } from './errors';
import { authenticate } from './middleware/authenticate';
import { idempotency } from './middleware/idempotency';
import { jsonDepthLimit } from './middleware/json-depth';
import { requestContext } from './middleware/request-context';
import { createPlatform, type Platform } from './platform';
import { createRouter } from './router';
import { errorResponses, publicRoute } from './routes/schemas';
import { authRoutes } from './routes/auth';
import { chatRoutes } from './routes/chat';
import { healthRoutes } from './routes/health';
import { processRoutes } from './routes/process';
import { profileRoutes } from './routes/profile';
import { subscriptionRoutes } from './routes/subscriptions';

/** API.md: bodies over 256 KiB are refused before parsing. */
const MAX_BODY_BYTES = 256 * 1024;

/** The one Hono app, built from injected dependencies: the same in Lambda, `npm start` and tests. */
export function createApp(deps: Deps, p: Platform = createPlatform(deps)) {
  const app = createRouter();

  app.use(requestContext(deps.logger, deps.clock));
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `The body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
      },
    }),
  );
  app.use(jsonDepthLimit());
  // The session check every `secured()` route runs, built once from the app's dependencies.
  const sessionCheck = authenticate(p.accessTokens, p.sessions);
  const retries = idempotency(p.idempotency, deps.emailMac);
  app.use(async (c, next) => {
    c.set('authenticate', sessionCheck);
    c.set('idempotency', retries);
    await next();
  });

  app.route('/', healthRoutes(p));
  app.route('/', authRoutes(p));
  app.route('/', profileRoutes(p));
  app.route('/', processRoutes(p));
  app.route('/', chatRoutes(p));
  app.route('/', subscriptionRoutes(p));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  // The document describes itself too (API.md lists it); `doc31` below serves it.
  app.openAPIRegistry.registerPath(
    publicRoute({
      method: 'get',
      path: '/api/v1/openapi.json',
      tags: ['Public'],
      summary: 'This OpenAPI 3.1 document',
      responses: { 200: { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } }, ...errorResponses(429) },
    }),
  );
  app.doc31('/api/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Serenya API', version: deps.config.version, description: `Zone ${deps.config.zone}`, license: { name: 'Proprietary', url: 'https://serenya.health/terms' } },
    servers: [{ url: deps.config.homeApi }],
  });

  app.notFound(() => {
    throw new ApiError(404, 'NOT_FOUND', 'No such route; see /api/v1/openapi.json');
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof HTTPException) return errorResponse(c, fromHttpException(err));
    // A real fault: log its class and our request id only (its message may quote input).
    deps.logger.error('unhandled error', { requestId: c.get('requestId'), errorName: err.name });
    return errorResponse(c, new ApiError(500, 'INTERNAL', 'Something went wrong on our side; try again', { retryable: true }));
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
