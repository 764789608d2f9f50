import { envVars } from '../../contract';
import { createAwsDeps } from './aws-deps';
import { parseLambdaConfig } from '../core/config';
import { createRuntime } from './runtime';
import { createLogger } from '../core/logger';
import { createStreamingHandler } from './response-stream';

/**
 * The one Lambda bundle of the platform. Configuration is read once, at cold start: a bad or
 * missing variable fails the init with one message naming each, before any request is taken.
 */
const { app: config, keys } = parseLambdaConfig(process.env);
const logger = createLogger(config.zone, process.env[envVars.logLevel]);
const runtime = createRuntime(createAwsDeps(config, keys, logger));

/** The api, worker and stream functions' entry: every event, dispatched by its shape. */
export const { handler } = runtime;

/**
 * The chat function's entry (`index.streamHandler`): the same app, its answers streamed through
 * Lambda response streaming. A second export because the runtime picks streaming per exported
 * handler, before it sees an event: one export cannot be both buffered and streamed.
 */
export const streamHandler = createStreamingHandler(runtime.app, logger);
