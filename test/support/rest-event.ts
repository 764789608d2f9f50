import { randomUUID } from 'node:crypto';

/** An API Gateway REST (v1) proxy event, as Lambda receives it (the tests and the bench send the same). */
export function restEvent(path: string, token?: string, init: { method?: string; body?: object } = {}) {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = {
    host: 'api.serenya.test',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(init.body ? { 'content-type': 'application/json' } : {}),
  };
  return {
    httpMethod: method,
    path,
    resource: '/{proxy+}',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: { requestId: randomUUID(), httpMethod: method, path, stage: 'live', resourcePath: '/{proxy+}', identity: { sourceIp: '203.0.113.7' } },
    body: init.body ? JSON.stringify(init.body) : null,
    isBase64Encoded: false,
  };
}
