import { createRoute, z } from '@hono/zod-openapi';
import { ChatInput } from '../jobs/job-schemas';
import type { Platform } from '../platform';
import { createRouter } from '../router';
import { Accepted, JobParams, jobReads, JobStatus, statusOf } from './job-schemas';
import { errorResponses, jsonBody, jsonResponse, secured, securedIdempotent, securedReading } from './schemas';

/** Conversation starters, by category; fixed text, the same for everyone. */
export const chatPrompts = [
  { id: 'results-explained', category: 'understanding_results', text: 'What do my latest results mean in plain words?' },
  { id: 'out-of-range', category: 'understanding_results', text: 'Which of my results are outside the normal range, and why might that be?' },
  { id: 'trend', category: 'trends', text: 'How have my results changed over time?' },
  { id: 'doctor-questions', category: 'preparing_for_a_visit', text: 'What should I ask my doctor at my next appointment?' },
  { id: 'lifestyle', category: 'lifestyle', text: 'Are there everyday habits that can help with these results?' },
] as const;

const Prompts = z
  .object({ prompts: z.array(z.object({ id: z.string(), category: z.string(), text: z.string() })) })
  .openapi('ChatPrompts');
const ChatStatus = JobStatus.extend({ response: z.object({ message: z.string() }).optional() }).openapi('ChatStatus');

const routes = {
  prompts: createRoute(secured({
    method: 'get',
    path: '/prompts',
    summary: 'Suggested questions to start a conversation',
    tags: ['Chat'],
    responses: { 200: jsonResponse('Suggested questions', Prompts), ...errorResponses(401, 421) },
  })),
  message: createRoute(securedIdempotent({
    method: 'post',
    path: '/messages',
    tags: ['Chat'],
    summary: 'Ask a health question; follow the job with /chat/status',
    request: { body: jsonBody(ChatInput.openapi('ChatMessage')) },
    responses: { 202: jsonResponse('Accepted', Accepted), ...errorResponses(400, 401, 413, 415, 421, 429) },
  })),
  status: createRoute(securedReading({
    method: 'get',
    path: '/status/{jobId}',
    summary: "A chat message's job: its status, and the answer once completed",
    tags: ['Chat'],
    request: { params: JobParams },
    responses: { 200: jsonResponse('Status, with the answer once completed', ChatStatus), ...errorResponses(400, 401, 404, 421) },
  }, jobReads)),
};

export function chatRoutes(p: Platform) {
  const router = createRouter();
  return router
    .openapi(routes.prompts, (c) => c.json({ prompts: chatPrompts.map((prompt) => ({ ...prompt })) }, 200))
    .openapi(routes.message, async (c) => {
      const job = await p.jobs.submit(c.get('auth').userId, c.get('prefetched')[0], 'chat', c.req.valid('json'));
      return c.json({ jobId: job.jobId }, 202);
    })
    .openapi(routes.status, async (c) => {
      const job = p.jobs.own(c.get('prefetched')[0], 'chat');
      const status = statusOf(job);
      if (job.status !== 'completed') return c.json(status, 200);
      const stored = await p.jobs.result(job);
      return c.json({ ...status, ...(stored.type === 'chat' && { response: { message: stored.result.message } }) }, 200);
    });
}
