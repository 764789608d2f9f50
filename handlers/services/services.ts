import type { Deps } from './deps';
import { createAccessTokens } from '../domain/identity/access-tokens';
import { createAppleTokens } from '../domain/identity/apple-tokens';
import { createJobObjects } from '../domain/jobs/job-objects';
import { createIdempotencyStore } from '../domain/idempotency/idempotency-store';
import { createChatStreams } from '../domain/jobs/chat-stream';
import { createJobService } from '../domain/jobs/job-service';
import { createJobStore } from '../domain/jobs/job-store';
import { createSessionStore } from '../domain/sessions/session-store';
import { createSubscriptionStore } from '../domain/subscriptions/subscription-store';
import { createAccountDeletion } from '../domain/users/account-deletion';
import { createUserRepository } from '../domain/users/user-repository';

/** The injected dependencies plus the services built from them once, shared by every route. */
export function createServices(deps: Deps) {
  const { config, clock, dynamo } = deps;
  const users = createUserRepository({
    dynamo,
    table: config.usersTable,
    clock,
    pii: deps.pii,
    emailMac: deps.emailMac,
  });
  const jobs = createJobService({
    ...deps,
    store: createJobStore({ dynamo, config, clock }),
    objects: createJobObjects(deps.s3, config.tempBucket),
    planOf: users.subscriptionOf,
  });
  return {
    ...deps,
    accessTokens: createAccessTokens(config, deps.signer, clock),
    sessions: createSessionStore({
      dynamo,
      table: config.usersTable,
      clock,
      ttlSeconds: config.sessionTtlSeconds,
      lifetimeSeconds: config.sessionLifetimeSeconds,
      mac: deps.emailMac,
    }),
    users,
    deletion: createAccountDeletion({ ...deps, users, tempBucket: config.tempBucket }),
    jobs,
    chatStreams: createChatStreams({ jobs, model: deps.chatModel, clock, logger: deps.logger }),
    subscriptionStore: createSubscriptionStore({ dynamo, table: config.usersTable, clock }),
    idempotency: createIdempotencyStore({ dynamo, table: config.usersTable, clock }),
    appleTokens: createAppleTokens({ ...deps, table: config.usersTable }),
  };
}

export type Services = ReturnType<typeof createServices>;
