import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';

/** Swagger UI's own files, served from the package on this machine: the offline platform reaches no CDN. */
const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Serenya API reference (offline)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/** "Try it out" calls the local API; Authorize takes a bearer token (npm run token, or onboarding's). */
const init = (specUrl: string) => `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(specUrl)},
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
  // Swagger UI would send the document to validator.swagger.io: nothing leaves this machine.
  validatorUrl: null,
  tryItOutEnabled: true,
  // A token given to Authorize lives in this page only: never in localStorage, where any script of
  // this origin, and anyone at this machine after the tab is closed, could read it.
  persistAuthorization: false,
  displayOperationId: true,
});
`;

/**
 * The page may load only its own files and call only its own origin, and no other page may frame
 * it (clickjacking "Try it out"). Swagger UI sets inline styles and its stylesheet uses data: images.
 */
const securityHeaders = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The interactive API reference of `npm start` at `/docs`: Swagger UI over the served OpenAPI
 * document, every asset from `swagger-ui-dist` on this machine. Only the offline platform mounts
 * it; the Lambda bundle never carries it (a test reads the bundle's inputs).
 */
export function apiDocs(specUrl = '/api/v1/openapi.json') {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const docs = new Hono();
  docs.use(async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(securityHeaders)) c.header(name, value);
  });
  docs.get('/', (c) => c.html(page));
  docs.get('/init.js', (c) => c.body(init(specUrl), 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  docs.get('/:file', (c) => {
    const file = c.req.param('file');
    const type = Object.hasOwn(assets, file) ? assets[file] : undefined;
    if (!type) return c.notFound();
    return c.body(readFileSync(join(dir, file)), 200, { 'content-type': type, 'cache-control': 'max-age=3600' });
  });
  return docs;
}
