import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createRoute, z } from '@hono/zod-openapi';
import { platformMetrics, storeNotificationPath } from '../../../contract';
import { ApiError } from '../api-error';
import { AccountClosedError } from '../../domain/users/live-profile';
import type { Services } from '../../services/services';
import { createRouter } from '../router';
import { UntrustedSignatureError } from '../../domain/subscriptions/apple-jws';
import { readAppStoreNotification } from '../../domain/subscriptions/app-store-notifications';
import { PurchaseNotFoundError } from '../../domain/subscriptions/play-developer-client';
import { readPlayNotification } from '../../domain/subscriptions/play-notifications';
import { zoneOfStoreAccountToken } from '../../domain/subscriptions/store-account-token';
import { MalformedNotificationError, type SubscriptionEvent } from '../../domain/subscriptions/subscription-event';
import {
  createZoneForwarder,
  forwardedFromHeader,
  ZoneUnavailableError,
} from '../../domain/subscriptions/zone-forwarding';
import { errorResponses, jsonBody, jsonResponse, publicRoute, Subscription } from './schemas';
import { ownProfile, type Guard } from '../guard';

// The stores' envelopes, not our clients' bodies: extra fields are theirs to add (Pub/Sub sends
// both camelCase and snake_case copies), so these are not strict.
const AppStoreEnvelope = z.object({
  signedPayload: z
    .string()
    .min(1)
    .max(64 * 1024),
});
const PubSubEnvelope = z.object({
  message: z.object({ data: z.string().max(64 * 1024), messageId: z.string().min(1).max(200) }),
  subscription: z.string().max(500).optional(),
});
const Webhook = z.union([AppStoreEnvelope, PubSubEnvelope]).openapi('StoreNotification');
const Outcome = z.enum([
  'applied',
  'recorded',
  'duplicate',
  'stale',
  'unknown_user',
  'unknown_purchase',
  'not_this_zone',
]);
const WebhookAnswer = z
  .object({
    outcome: Outcome.openapi({
      description:
        "What the owner zone did. An App Store notification for another zone's account is handed to that zone and " +
        "answered with its outcome; a Play push for another zone's account is not_this_zone (that zone's own push " +
        'subscription delivers it there)',
    }),
  })
  .openapi('StoreNotificationOutcome');

const routesOf = (guard: Guard) => {
  const { securedReading } = guard;
  return {
    get: createRoute(
      securedReading(
        {
          method: 'get',
          path: '/',
          tags: ['Subscriptions'],
          summary: "The caller's subscription, as the stores last reported it",
          responses: { 200: jsonResponse("The caller's subscription", Subscription), ...errorResponses(401, 421) },
        },
        ownProfile,
      ),
    ),
    webhook: createRoute(
      publicRoute({
        method: 'post',
        path: '/webhook',
        tags: ['Subscriptions'],
        summary: 'App Store Server Notifications v2, or a Google Play RTDN Pub/Sub push (with its OIDC bearer token)',
        request: { body: jsonBody(Webhook) },
        responses: {
          200: jsonResponse(
            'Verified; applied, or a duplicate or older notification that changes nothing',
            WebhookAnswer,
          ),
          ...errorResponses(400, 401, 413, 415, 421, 503),
        },
      }),
    ),
  };
};

const unverified = () =>
  new ApiError(401, 'WEBHOOK_UNVERIFIED', 'The notification did not verify; nothing was changed');

export function subscriptionRoutes(p: Services, guard: Guard) {
  const routes = routesOf(guard);
  const router = createRouter();
  const { zone, zoneDirectory: directory } = p.config;
  const forward = createZoneForwarder({ zone, directory, webhookPath: storeNotificationPath });

  async function read(body: z.infer<typeof Webhook>, authorization: string | undefined): Promise<SubscriptionEvent> {
    const { appStore, googlePlay } = p.config;
    if ('signedPayload' in body) {
      if (!appStore) throw unverified();
      return readAppStoreNotification(body.signedPayload, p.subscriptions.appStoreRoots, appStore, p.clock.now());
    }
    const { verifyGooglePush, play } = p.subscriptions;
    if (!googlePlay || !verifyGooglePush || !play) throw unverified();
    await verifyGooglePush(authorization);
    try {
      return await readPlayNotification(body, googlePlay.packageName, play);
    } catch (err) {
      if (
        err instanceof UntrustedSignatureError ||
        err instanceof MalformedNotificationError ||
        err instanceof PurchaseNotFoundError
      )
        throw err;
      // Play's API is down: Pub/Sub redelivers on a 5xx.
      throw new ApiError(
        503,
        'STORE_UNAVAILABLE',
        'The store could not be asked for the subscription state; retry later',
        { retryable: true },
      );
    }
  }

  /** A notification of another zone's account: its owner's outcome, or an error that makes the store retry. */
  async function leaveToOwner(
    owner: string,
    body: z.infer<typeof Webhook>,
    handedOn: boolean,
    log: () => Logger,
  ): Promise<z.infer<typeof Outcome>> {
    // Play delivers every push to every zone's own subscription: the owner has its copy.
    if (!('signedPayload' in body)) return 'not_this_zone';
    // The App Store has one URL: hand it on, once, and say yes only when the owner has it.
    if (handedOn) {
      const message = 'This notification was handed on to a zone that does not own its account';
      throw new ApiError(421, 'WRONG_ZONE', `${message}; it is not handed on twice`);
    }
    // Logged and counted: the store retries for days, but the owner's plan is stale meanwhile (an alarm, docs/runbooks.md).
    const unavailable = (why: string, reason: string) => {
      log().warn('store notification not handed on', { owner, reason });
      p.metrics.singleMetric().addMetric(platformMetrics.notificationsNotHandedOn, MetricUnit.Count, 1);
      return new ApiError(503, 'ZONE_UNAVAILABLE', `${why}; retry later`, { retryable: true });
    };
    let answer: unknown;
    try {
      answer = await forward(owner, body.signedPayload);
    } catch (err) {
      if (!(err instanceof ZoneUnavailableError)) throw err;
      throw unavailable("The zone that owns this notification's account did not take it", err.message);
    }
    const handed = WebhookAnswer.safeParse(answer);
    if (!handed.success) throw unavailable("The owner zone's answer was not understood", 'answer not understood');
    return handed.data.outcome;
  }

  return router
    .openapi(routes.get, async (c) => {
      const subscription = p.users.subscriptionOf(c.get('prefetched').profile);
      if (!subscription) throw new AccountClosedError();
      return c.json(subscription, 200);
    })
    .openapi(routes.webhook, async (c) => {
      const body = c.req.valid('json');
      let event: SubscriptionEvent;
      try {
        event = await read(body, c.req.header('authorization'));
      } catch (err) {
        if (err instanceof UntrustedSignatureError)
          c.var.log().warn('store notification refused', { reason: err.message });
        // Verified, but for a purchase Play does not know: a 5xx would have Pub/Sub redeliver it for days.
        if (err instanceof PurchaseNotFoundError) {
          c.var.log().info('store notification', { provider: 'google', outcome: 'unknown_purchase' });
          return c.json({ outcome: 'unknown_purchase' as const }, 200);
        }
        throw err;
      }
      // The token's zone tag names the owner: only the owner applies it (`store-account-token.ts`).
      const owner = zoneOfStoreAccountToken(event.accountToken);
      if (owner && owner !== p.config.zone) {
        const outcome = await leaveToOwner(owner, body, c.req.header(forwardedFromHeader) !== undefined, c.var.log);
        c.var.log().info('store notification', { provider: event.provider, owner, outcome });
        return c.json({ outcome }, 200);
      }
      const outcome = owner ? await p.subscriptionStore.apply(event) : 'unknown_user';
      c.var.log().info('store notification', {
        provider: event.provider,
        kind: event.kind,
        notificationId: event.notificationId,
        outcome,
      });
      return c.json({ outcome }, 200);
    });
}
