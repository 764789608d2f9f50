import express from 'express';
import serverless from 'serverless-http';
import type { Deps } from '../../handlers/services/deps';
import { createJobStore } from '../../handlers/domain/jobs/job-store';
import { createServices } from '../../handlers/services/services';

/**
 * The baseline a team would otherwise pick: Express behind serverless-http, serving the same
 * three routes with the same services and SDK clients as the Hono app (auth, session check,
 * DynamoDB reads, PII decryption), so the difference is the framework and its adapter.
 */
export function createExpressHandler(deps: Deps) {
  const p = createServices(deps);
  const jobs = createJobStore(deps);
  const app = express();
  const auth: express.RequestHandler = async (req, res, next) => {
    try {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const claims = token ? await p.accessTokens.verify(token) : undefined;
      if (!claims || !(await p.sessions.check(claims.userId, claims.sessionId)).active)
        return void res.status(401).json({ error: { code: 'INVALID_TOKEN' } });
      res.locals.userId = claims.userId;
      next();
    } catch {
      res.status(401).json({ error: { code: 'INVALID_TOKEN' } });
    }
  };
  app.get(
    '/health',
    (_req, res) =>
      void res.json({ status: 'ok', zone: deps.config.zone, region: deps.config.region, version: deps.config.version }),
  );
  app.get('/api/v1/user/profile', auth, async (_req, res) => void res.json(await p.users.get(res.locals.userId)));
  app.get('/api/v1/process/status/:jobId', auth, async (req, res) => {
    const job = await jobs.get(res.locals.userId, String(req.params.jobId));
    if (!job) return void res.status(404).json({ error: { code: 'NOT_FOUND' } });
    const view = jobs.view(job);
    res.json({
      jobId: view.jobId,
      type: view.type,
      status: view.status,
      createdAt: view.createdAt,
      updatedAt: view.updatedAt,
    });
  });
  return serverless(app);
}
