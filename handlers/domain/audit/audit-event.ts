import { auditBucketLayout, itemKeys } from '../../../contract';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';

/** A PHI-free audit event: who, what, when, and the names (never the values) of what changed. */
export interface AuditEvent {
  eventId: string;
  type: string;
  userId: string;
  occurredAt: string;
  zone: string;
  changedAttributes?: string[];
  reason?: string;
}

type Image = Record<string, AttributeValue>;

const str = (image: Image | undefined, name: string) => image?.[name]?.S;
/** Sign-in bookkeeping; the session's own event records the sign-in. */
const signInBookkeeping = new Set([
  'current_device',
  'last_signin_at',
  'apple_refresh_token',
  'apple_client_id',
  'device_id',
]);

/**
 * The names of what changed. The personal fields are sealed together as `pii`; the write names the
 * fields it changed inside it (`pii_changed`), so the trail still says `given_name`, not just `pii`.
 */
function changedAttributes(oldImage: Image = {}, newImage: Image = {}): string[] {
  const names = new Set([...Object.keys(oldImage), ...Object.keys(newImage)]);
  const inside = (newImage.pii_changed?.L ?? []).flatMap((v) => (v.S ? [v.S] : []));
  return [...names]
    .filter((n) => JSON.stringify(oldImage[n]) !== JSON.stringify(newImage[n]))
    .flatMap((n) => (n === 'pii' ? inside : n === 'pii_version' || n === 'pii_changed' ? [] : [n]))
    .filter((n, i, all) => all.indexOf(n) === i)
    .sort();
}

function classify(record: DynamoDBRecord): Pick<AuditEvent, 'type' | 'changedAttributes' | 'reason'> | undefined {
  const { NewImage: next, OldImage: prev } = record.dynamodb ?? {};
  const sk = str(next ?? prev, 'SK') ?? '';
  if (sk === 'PROFILE') {
    if (record.eventName === 'INSERT') return { type: 'user_registered' };
    if (record.eventName === 'REMOVE') return { type: 'user_deleted' };
    const changed = changedAttributes(prev, next);
    // The deletion fence: the account's deletion began (`user_deleted` follows when it ends).
    if (changed.includes('deleting_at') && !str(prev, 'deleting_at')) return { type: 'user_deletion_started' };
    if (changed.includes('current_subscription')) return { type: 'subscription_changed', changedAttributes: changed };
    if (changed.every((n) => signInBookkeeping.has(n))) return undefined;
    return { type: 'profile_updated', changedAttributes: changed };
  }
  if (sk.startsWith('SESSION#')) {
    if (record.eventName === 'INSERT' && str(next, 'origin') === 'signin') return { type: 'user_signed_in' };
    const revokedNow = prev?.revoked?.BOOL === false && next?.revoked?.BOOL === true;
    if (revokedNow) {
      const reason = str(next, 'revoked_reason');
      return { type: reason === 'refresh_token_reused' ? 'session_revoked' : 'user_signed_out', reason };
    }
  }
  return undefined;
}

/** The audit event of a users-table stream record, or undefined when the change is not audited. */
export function auditEventOf(record: DynamoDBRecord, zone: string): AuditEvent | undefined {
  const event = classify(record);
  const pk = str(record.dynamodb?.NewImage ?? record.dynamodb?.OldImage, 'PK') ?? '';
  const userId = itemKeys.userIdOf(pk);
  if (!event || !userId) return undefined;
  const seconds = record.dynamodb?.ApproximateCreationDateTime ?? 0;
  return {
    eventId: record.eventID ?? `${record.dynamodb?.SequenceNumber}`,
    userId,
    occurredAt: new Date(seconds * 1000).toISOString(),
    zone,
    ...event,
  };
}

/** `observability/year=YYYY/month=MM/day=DD/<type>-<time>-<id>.json`: day-partitioned for Athena. */
export function auditObjectKey(event: AuditEvent): string {
  const [date = '', time = ''] = event.occurredAt.split('T');
  const [year, month, day] = date.split('-');
  const compact = `${date.replaceAll('-', '')}T${time.slice(0, 8).replaceAll(':', '')}Z`;
  return `${auditBucketLayout.eventsPrefix}year=${year}/month=${month}/day=${day}/${event.type}-${compact}-${event.eventId}.json`;
}
