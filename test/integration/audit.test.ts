import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEventOf, auditObjectKey } from '../../handlers/domain/audit/audit-event';
import { createStreamHandler } from '../../handlers/domain/audit/stream-handler';
import { createLogger } from '../../handlers/core/logger';
import { createMetrics } from '../../handlers/core/metrics';
import { consents, createTestRuntime, device, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;

beforeAll(async () => {
  t = await createTestRuntime({ appleId: true, stream: true });
});
afterAll(() => t.stop());

async function auditObjects(): Promise<Array<{ key: string; body: string }>> {
  await t.stream!.drain();
  const { Contents = [] } = await t.clients.s3.send(new ListObjectsV2Command({ Bucket: t.config.auditBucket }));
  return Promise.all(
    Contents.map(async ({ Key }) => {
      const obj = await t.clients.s3.send(new GetObjectCommand({ Bucket: t.config.auditBucket, Key }));
      return { key: Key!, body: await obj.Body!.transformToString() };
    }),
  );
}
const eventsNow = async (userId: string) =>
  (await auditObjects()).map((o) => ({ ...o, event: JSON.parse(o.body) })).filter((o) => o.event.userId === userId);
/**
 * The user's audit events once `count` of them have arrived: the stream delivers a moment after the
 * writes, later on a loaded machine, so a single drain is not enough.
 */
async function eventsOf(userId: string, count: number) {
  await expect
    .poll(async () => (await eventsNow(userId)).length, { timeout: 20_000, interval: 100 })
    .toBeGreaterThanOrEqual(count);
  return eventsNow(userId);
}

describe('the users-table stream becomes a PHI-free audit trail', () => {
  it('records the account’s life, by name of what changed, never by value', async () => {
    const who = t.identity({ email: 'audit.canary@example.com', name: 'Audit Canary' });
    const { userId, accessToken } = await t.onboard(who);
    await t.request('PUT', '/api/v1/user/profile', { token: accessToken, body: { givenName: 'Renamed Canary' } });
    const idToken = await t.identityProvider.mint('google', who);
    const second = await t.request('POST', '/api/v1/auth/oauth-signin', {
      body: { provider: 'google', idToken, device: { platform: 'ios', deviceId: 'd', appVersion: '1' } },
    });
    await t.request('POST', '/api/v1/auth/signout', { token: second.body.tokens.accessToken });
    await t.request('DELETE', '/api/v1/user/profile', { token: accessToken });

    const objects = await eventsOf(userId, 6);
    const types = objects.map((o) => o.event.type).sort();
    expect(types).toEqual(
      [
        'profile_updated',
        'user_deleted',
        'user_deletion_started',
        'user_registered',
        'user_signed_in',
        'user_signed_out',
      ].sort(),
    );
    const updated = objects.find((o) => o.event.type === 'profile_updated')!;
    expect(updated.event.changedAttributes).toEqual(['given_name', 'updated_at']);
    for (const o of objects) {
      expect(o.key).toMatch(/^observability\/year=\d{4}\/month=\d\d\/day=\d\d\/[a-z_]+-\d{8}T\d{6}Z-[\w-]+\.json$/);
      expect(o.event).toMatchObject({ userId, zone: 'dev', occurredAt: expect.stringMatching(/Z$/) });
      for (const secret of [who.email, who.name!, 'Renamed Canary', accessToken]) expect(o.body).not.toContain(secret);
    }
  });

  it('records a detected refresh-token replay as a revoked session', async () => {
    const { userId, refreshToken } = await t.onboard();
    await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    const revoked = (await eventsOf(userId, 2)).filter((o) => o.event.type === 'session_revoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.event.reason).toBe('refresh_token_reused');
  });
});

describe('the audit trail does not wait on Apple', () => {
  it('records a deletion, and every later event of other users, while Apple cannot revoke tokens', async () => {
    const who = t.identity();
    const onboarding = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
      body: {
        provider: 'apple',
        residency: 'IE',
        idToken: await t.identityProvider.mint('apple', who),
        authorizationCode: await t.identityProvider.mintAppleAuthorizationCode(who.sub),
        consents,
        device,
      },
    });
    expect(onboarding.status).toBe(201);
    const [token] = t.appleId!.liveTokensOf(who.sub);
    t.appleId!.faults.revokeUnavailable = true;
    try {
      await t.request('DELETE', '/api/v1/user/profile', { token: onboarding.body.tokens.accessToken });
      const later = await t.onboard();
      const deleted = await eventsOf(onboarding.body.user.id, 3);
      expect(deleted.map((o) => o.event.type)).toContain('user_deleted');
      expect((await eventsOf(later.userId, 1)).map((o) => o.event.type)).toEqual(['user_registered']);
      await expect.poll(() => t.appleId!.refused.includes(token!), { timeout: 20_000, interval: 100 }).toBe(true);
    } finally {
      t.appleId!.faults.revokeUnavailable = false;
    }
  });
});

describe('the stream handler', () => {
  const record = (seq: string, sk = 'PROFILE'): DynamoDBRecord => ({
    eventID: `event-${seq}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: seq,
      ApproximateCreationDateTime: 1_790_000_000,
      NewImage: { PK: { S: `USER#u-${seq}` }, SK: { S: sk } },
    },
  });

  it('reports the first failing record and every later one, so none is lost or reordered', async () => {
    let calls = 0;
    const flaky = {
      send: async () => {
        if (++calls === 2) throw new Error('SlowDown');
        return {};
      },
    } as unknown as S3Client;
    const handler = createStreamHandler({
      s3: async () => flaky,
      auditBucket: 'b',
      zone: 'dev',
      logger: createLogger('dev', 'SILENT'),
      metrics: createMetrics(),
    });
    const out = await handler({ Records: [record('1'), record('2'), record('3')] });
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: '2' }, { itemIdentifier: '3' }]);
  });

  it('writes a record’s audit object first and alone: keeping its Apple token fails the record after it', async () => {
    const keys: string[] = [];
    const s3 = {
      send: async (command: { input: { Key: string } }) => keys.push(command.input.Key),
    } as unknown as S3Client;
    const appleTokens = {
      captureFrom: async (r: DynamoDBRecord) => {
        if (r.dynamodb?.SequenceNumber === '2') throw new Error('ProvisionedThroughputExceededException');
      },
      pendingOf: () => undefined,
      attempt: async () => 'revoked',
    };
    const handler = createStreamHandler({
      s3: async () => s3,
      auditBucket: 'b',
      zone: 'dev',
      logger: createLogger('dev', 'SILENT'),
      metrics: createMetrics(),
      appleTokens,
    });
    const out = await handler({ Records: [record('1'), record('2'), record('3')] });
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: '2' }, { itemIdentifier: '3' }]);
    expect(keys.map((k) => k.split('-').at(-1))).toEqual(['1.json', '2.json']);
  });

  it('skips what is not audited (provider guards, token rotation) and keys objects by day', () => {
    expect(auditEventOf(record('9', 'EXTERNAL'), 'dev')).toBeUndefined();
    const event = auditEventOf(record('10'), 'eu')!;
    expect(auditObjectKey(event)).toBe(
      'observability/year=2026/month=09/day=21/user_registered-20260921T141320Z-event-10.json',
    );
    expect(event).toMatchObject({ type: 'user_registered', userId: 'u-10', zone: 'eu' });
  });
});
