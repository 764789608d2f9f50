import type { Context } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { envVars } from '../contract';
import { createApp } from './app';
import { createStreamHandler } from './audit/stream-handler';
import { createAwsDeps } from './aws-deps';
import { parseLambdaConfig } from './config';
import { createDispatcher } from './dispatch';
import { createLogger } from './logger';
import { createPlatform } from './platform';
import { createWorker } from './processing/worker';

/**
 * The one Lambda entry of the platform. Configuration is read once, at cold start: a bad or
 * missing variable fails the init with one message naming each, before any request is taken.
 */
const { app: config, keys } = parseLambdaConfig(process.env);
const logger = createLogger(config.zone, process.env[envVars.logLevel]);
const deps = createAwsDeps(config, keys, logger);
const platform = createPlatform(deps);

const dispatch = createDispatcher(
  {
    http: handle(createApp(deps, platform)) as (event: unknown, context: Context) => Promise<unknown>,
    s3: createWorker(platform),
    stream: createStreamHandler({ s3: deps.s3, auditBucket: config.auditBucket, zone: config.zone, logger, metrics: deps.metrics }),
  },
  logger,
);

export const handler = (event: unknown, context: Context) => dispatch(event, context);
