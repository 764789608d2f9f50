import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Deps } from '../services/deps';
import { ApiError, errorResponse, fromHttpException } from './api-error';
import { answerOf } from './error-answers';
import { createGuard } from './guard';
import { jsonCharset } from './middleware/json-charset';
import { jsonDepthLimit } from './middleware/json-depth';
import { requestContext } from './middleware/request-context';
import { createServices, type Services } from '../services/services';
import { createRouter } from './router';
import { errorResponses, nameOperations, publicRoute } from './routes/schemas';
import { authRoutes } from './routes/auth';
import { chatRoutes } from './routes/chat';
import { healthRoutes } from './routes/health';
import { processRoutes } from './routes/process';
import { profileRoutes } from './routes/profile';
import { subscriptionRoutes } from './routes/subscriptions';
import { zoneRoutes } from './routes/zones';

/** Every route of API.md but health and the token keys. */
const API_BASE = '/api/v1';

/** API.md: bodies over 256 KiB are refused before parsing. */
const MAX_BODY_BYTES = 256 * 1024;

/** The one Hono app, built from injected dependencies: the same in Lambda, `npm start` and tests. */
export function createApp(deps: Deps, p: Services = createServices(deps)) {
  const app = createRouter();

  app.use(jsonCharset());
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
  // The protected routes' middleware, built once from the services it needs.
  const guard = createGuard({
    accessTokens: p.accessTokens,
    sessions: p.sessions,
    idempotency: p.idempotency,
    emailMac: deps.emailMac,
  });

  // Health and the token keys at the root, as load balancers and JWT libraries look for them; the API under one base path.
  app.route('/', healthRoutes(p));
  const api = createRouter().basePath(API_BASE);
  api.route('/auth', authRoutes(p, guard));
  api.route('/user', profileRoutes(p, guard));
  api.route('/process', processRoutes(p, guard));
  api.route('/chat', chatRoutes(p, guard));
  api.route('/subscriptions', subscriptionRoutes(p, guard));
  api.route('/zones', zoneRoutes(p));
  app.route('/', api);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  // The document describes itself too (API.md lists it); `doc31` below serves it.
  app.openAPIRegistry.registerPath(
    publicRoute({
      method: 'get',
      path: `${API_BASE}/openapi.json`,
      tags: ['Public'],
      summary: 'This OpenAPI 3.1 document',
      responses: {
        200: { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } },
        ...errorResponses(429),
      },
    }),
  );
  nameOperations(app.openAPIRegistry);
  app.doc31(`${API_BASE}/openapi.json`, {
    openapi: '3.1.0',
    info: {
      title: 'Serenya API',
      version: deps.config.version,
      description: `Zone ${deps.config.zone}`,
      license: { name: 'Proprietary', url: 'https://serenya.health/terms' },
    },
    servers: [{ url: deps.config.homeApi }],
  });

  app.notFound(() => {
    throw new ApiError(404, 'NOT_FOUND', `No such route; see ${API_BASE}/openapi.json`);
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof HTTPException) return errorResponse(c, fromHttpException(err));
    const answer = answerOf(err, deps.config);
    if (answer) return errorResponse(c, answer);
    // A real fault: log its class and our request id only (its message may quote input).
    c.var.log().error('unhandled error', { errorName: err.name });
    return errorResponse(
      c,
      new ApiError(500, 'INTERNAL', 'Something went wrong on our side; try again', { retryable: true }),
    );
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
