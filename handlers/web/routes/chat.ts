import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppEnv } from '../app-env';
import { ApiError } from '../api-error';
import { ChatInput } from '../../domain/jobs/job-schemas';
import * as streamEvents from '../../domain/jobs/chat-stream';
import { idempotencyHeader } from '../middleware/idempotency';
import type { Services } from '../../services/services';
import { createRouter } from '../router';
import { Accepted, JobParams, jobReads, JobStatus, statusOf } from './job-answers';
import { errorResponses, jsonBody, jsonResponse, withOpenApi } from './schemas';
import { ownProfile, type Guard } from '../guard';

/** Conversation starters, by category; fixed text, the same for everyone. */
const chatPrompts = [
  {
    id: 'results-explained',
    category: 'understanding_results',
    text: 'What do my latest results mean in plain words?',
  },
  {
    id: 'out-of-range',
    category: 'understanding_results',
    text: 'Which of my results are outside the normal range, and why might that be?',
  },
  { id: 'trend', category: 'trends', text: 'How have my results changed over time?' },
  {
    id: 'doctor-questions',
    category: 'preparing_for_a_visit',
    text: 'What should I ask my doctor at my next appointment?',
  },
  { id: 'lifestyle', category: 'lifestyle', text: 'Are there everyday habits that can help with these results?' },
] as const;

const Prompts = z
  .object({ prompts: z.array(z.object({ id: z.string(), category: z.string(), text: z.string() })) })
  .openapi('ChatPrompts');
const ChatStatus = JobStatus.extend({ response: z.object({ message: z.string() }).optional() }).openapi('ChatStatus');

/** The events of `POST /chat/stream`, each sent as `event: <name>` and `data: <JSON>` lines; the domain defines their data. */
const StreamDelta = withOpenApi(streamEvents.ChatStreamDelta, 'ChatStreamDelta', {
  description: '`event: delta`: the next piece of the answer',
});
const StreamDone = withOpenApi(streamEvents.ChatStreamDone, 'ChatStreamDone', {
  description: '`event: done`: the answer is complete; the last event',
});
// A job failure's code (MODEL_BUSY, PROCESSING_FAILED…), as a job's status gives it: not one of the error body's codes.
const StreamError = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean(), requestId: z.string() }),
  })
  .openapi('ChatStreamError', {
    description:
      '`event: error`: the answer stopped (MODEL_BUSY is retryable); the last event, in the error body of API.md',
  });
const StreamEvent = z
  .union([
    z.object({ event: z.literal('delta'), data: StreamDelta }),
    z.object({ event: z.literal('done'), data: StreamDone }),
    z.object({ event: z.literal('error'), data: StreamError }),
  ])
  .openapi('ChatStreamEvent', {
    description: 'One server-sent event: `event: <event>` then `data: <data as JSON>` and a blank line',
  });

/** A stream cannot be replayed: a retry would be a second answer, so the header is refused, not ignored. */
const noIdempotencyKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header(idempotencyHeader) !== undefined) {
    const why =
      'Idempotency-Key is not accepted here: a streamed answer cannot be replayed; send without it, or use /chat/messages';
    throw new ApiError(400, 'VALIDATION_ERROR', why);
  }
  await next();
};

const refusingIdempotencyKey = <R extends { middleware: MiddlewareHandler<AppEnv> }>(route: R) => ({
  ...route,
  middleware: [route.middleware, noIdempotencyKey],
});

const routesOf = (guard: Guard) => {
  const { secured, securedReading, securedIdempotent } = guard;
  return {
    prompts: createRoute(
      secured({
        method: 'get',
        path: '/prompts',
        summary: 'Suggested questions to start a conversation',
        tags: ['Chat'],
        responses: { 200: jsonResponse('Suggested questions', Prompts), ...errorResponses(401, 421) },
      }),
    ),
    message: createRoute(
      securedIdempotent({
        method: 'post',
        path: '/messages',
        tags: ['Chat'],
        summary: 'Ask a health question; follow the job with /chat/status',
        request: { body: jsonBody(withOpenApi(ChatInput, 'ChatMessage')) },
        responses: { 202: jsonResponse('Accepted', Accepted), ...errorResponses(400, 401, 413, 415, 421, 429) },
      }),
    ),
    stream: createRoute(
      refusingIdempotencyKey(
        securedReading(
          {
            method: 'post',
            path: '/stream',
            tags: ['Chat'],
            summary:
              'Ask a health question; the answer streams back as it is written (server-sent events), never stored',
            description:
              'Same body, plan, concurrency limit and daily cap as /chat/messages. Idempotency-Key is not accepted (400). ' +
              'The answer comes as `delta` events, then one `done` event with the usage and a disclaimer, or one `error` ' +
              'event.',
            request: { body: jsonBody(withOpenApi(ChatInput, 'ChatMessage')) },
            responses: {
              200: {
                description: 'The answer as server-sent events',
                content: { 'text/event-stream': { schema: StreamEvent } },
              },
              ...errorResponses(400, 401, 403, 409, 413, 415, 421, 429),
            },
          },
          ownProfile,
        ),
      ),
    ),
    status: createRoute(
      securedReading(
        {
          method: 'get',
          path: '/status/{jobId}',
          summary: "A chat message's job: its status, and the answer once completed",
          tags: ['Chat'],
          request: { params: JobParams },
          responses: {
            200: jsonResponse('Status, with the answer once completed', ChatStatus),
            ...errorResponses(400, 401, 404, 421),
          },
        },
        jobReads,
      ),
    ),
  };
};

export function chatRoutes(p: Services, guard: Guard) {
  const routes = routesOf(guard);
  const router = createRouter();
  return router
    .openapi(routes.prompts, (c) => c.json({ prompts: chatPrompts.map((prompt) => ({ ...prompt })) }, 200))
    .openapi(routes.message, async (c) => {
      const job = await p.jobs.submit(c.get('auth').userId, c.get('prefetched').profile, 'chat', c.req.valid('json'));
      return c.json({ jobId: job.jobId }, 202);
    })
    .openapi(routes.stream, async (c) => {
      const answer = await p.chatStreams.open(c.get('auth').userId, c.get('prefetched').profile, c.req.valid('json'));
      const requestId = c.get('requestId');
      return streamSSE(c, async (sse) => {
        // The client going (the app closed, API Gateway's connection dropped) stops the model call.
        const gone = new AbortController();
        sse.onAbort(() => gone.abort());
        c.req.raw.signal.addEventListener('abort', () => gone.abort(), { once: true });
        for await (const { event, data } of answer(gone.signal)) {
          const body = event === 'error' ? { error: { ...data, requestId } } : data;
          await sse.writeSSE({ event, data: JSON.stringify(body) });
          if (sse.aborted) gone.abort();
        }
      });
    })
    .openapi(routes.status, async (c) => {
      const job = p.jobs.own(c.get('prefetched').job, 'chat');
      const status = statusOf(job);
      if (job.status !== 'completed') return c.json(status, 200);
      const stored = await p.jobs.result(job);
      return c.json(
        { ...status, ...(stored.type === 'chat' && { response: { message: stored.result.message } }) },
        200,
      );
    });
}
