import { envVars } from '../contract';
import { createAwsDeps } from './aws-deps';
import { parseLambdaConfig } from './config';
import { createRuntime } from './runtime';
import { createLogger } from './logger';

/**
 * The one Lambda entry of the platform. Configuration is read once, at cold start: a bad or
 * missing variable fails the init with one message naming each, before any request is taken.
 */
const { app: config, keys } = parseLambdaConfig(process.env);
const logger = createLogger(config.zone, process.env[envVars.logLevel]);

export const { handler } = createRuntime(createAwsDeps(config, keys, logger));
