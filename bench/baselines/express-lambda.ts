import { createAwsDeps } from '../../handlers/edge/aws-deps';
import { parseLambdaConfig } from '../../handlers/core/config';
import { createLogger } from '../../handlers/core/logger';
import { createExpressHandler } from './express-app';

/** The Express baseline as a Lambda entry, configured exactly like `handlers/edge/lambda.ts`. */
const { app: config, keys } = parseLambdaConfig(process.env);
export const handler = createExpressHandler(
  createAwsDeps(config, keys, createLogger(config.zone, process.env.POWERTOOLS_LOG_LEVEL)),
);
