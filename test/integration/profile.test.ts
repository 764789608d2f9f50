import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { externalKey } from '../../handlers/domain/users/user-repository';
import { createTestRuntime, device, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});

describe('GET /api/v1/user/profile', () => {
  it('answers the decrypted profile', async () => {
    const { who, userId, accessToken } = await t.onboard();
    const res = await t.request('GET', '/api/v1/user/profile', { token: accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: userId, email: who.email, name: who.name, givenName: who.givenName, device });
    expect(res.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
  });
});

describe('PUT /api/v1/user/profile', () => {
  it('updates names and device and answers the new profile', async () => {
    const { accessToken } = await t.onboard();
    const newDevice = { platform: 'android', deviceId: 'pixel', appVersion: '2.0.0' };
    const res = await t.request('PUT', '/api/v1/user/profile', {
      token: accessToken,
      body: { name: 'Grace Hopper', givenName: 'Grace', familyName: 'Hopper', device: newDevice },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'Grace Hopper',
      givenName: 'Grace',
      familyName: 'Hopper',
      device: newDevice,
    });
    const again = await t.request('GET', '/api/v1/user/profile', { token: accessToken });
    expect(again.body).toEqual(res.body);
  });

  const bad: Array<[string, { body?: unknown; rawBody?: string; headers?: Record<string, string> }, number, string]> = [
    ['an unknown field', { body: { email: 'new@example.com' } }, 400, 'VALIDATION_ERROR'],
    ['an empty name', { body: { name: '   ' } }, 400, 'VALIDATION_ERROR'],
    ['a name of the wrong type', { body: { name: 42 } }, 400, 'VALIDATION_ERROR'],
    ['a device without an id', { body: { device: { platform: 'ios', appVersion: '1' } } }, 400, 'VALIDATION_ERROR'],
    ['malformed JSON', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } }, 400, 'MALFORMED_JSON'],
    ['a JSON array', { body: [1, 2] }, 400, 'VALIDATION_ERROR'],
    [
      'a body that is not JSON',
      { rawBody: 'name=x', headers: { 'content-type': 'text/plain' } },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['no body at all', { headers: { 'content-type': 'application/json' } }, 400, 'MALFORMED_JSON'],
    ['a body over 256 KiB', { body: { name: 'x'.repeat(300 * 1024) } }, 413, 'PAYLOAD_TOO_LARGE'],
    [
      'a deeply nested body',
      { rawBody: `${'['.repeat(5000)}${']'.repeat(5000)}`, headers: { 'content-type': 'application/json' } },
      400,
      'VALIDATION_ERROR',
    ],
    [
      'a prototype-pollution attempt',
      { rawBody: '{"__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } },
      400,
      'VALIDATION_ERROR',
    ],
  ];
  it.each(bad)('answers %s with its error and changes nothing', async (_, init, status, code) => {
    const { userId, accessToken } = await t.onboard();
    const before = JSON.stringify((await t.rawItems()).find((i) => i.PK === `USER#${userId}` && i.SK === 'PROFILE'));
    const res = await t.request('PUT', '/api/v1/user/profile', { token: accessToken, ...init });
    expect(res.status).toBe(status);
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(res.body.error).toEqual({
      code,
      message: expect.any(String),
      retryable: false,
      requestId: res.headers.get('x-request-id'),
    });
    const after = JSON.stringify((await t.rawItems()).find((i) => i.PK === `USER#${userId}` && i.SK === 'PROFILE'));
    expect(after).toBe(before);
  });
});

describe('DELETE /api/v1/user/profile', () => {
  it('removes the account, its sessions, its provider link and its job objects; its tokens then fail', async () => {
    const { who, userId, accessToken, refreshToken } = await t.onboard();
    const bucket = t.config.tempBucket;
    for (const key of [`jobs/${userId}/job-1/input`, `jobs/${userId}/job-1/result.json`]) {
      await t.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    }
    const neighbour = await t.onboard();
    await t.clients.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `jobs/${neighbour.userId}/job-2/input`, Body: 'y' }),
    );

    const res = await t.request('DELETE', '/api/v1/user/profile', { token: accessToken });
    expect(res.status).toBe(204);

    const items = await t.rawItems();
    expect(items.filter((i) => i.PK === `USER#${userId}`)).toEqual([]);
    const key = await externalKey(t.deps.emailMac, 'google', who.sub);
    expect(items.filter((i) => i.PK === key || i.GSI2PK === key)).toEqual([]);
    const left = await t.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `jobs/${userId}/` }));
    expect(left.Contents ?? []).toEqual([]);
    const theirs = await t.clients.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: `jobs/${neighbour.userId}/job-2/input` }),
    );
    expect(await theirs.Body?.transformToString()).toBe('y');

    expect((await t.request('GET', '/api/v1/user/profile', { token: accessToken })).status).toBe(401);
    expect((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } })).status).toBe(401);
    expect((await t.request('GET', '/api/v1/user/profile', { token: neighbour.accessToken })).status).toBe(200);

    // The provider account is free again: signing in finds nothing, onboarding starts afresh.
    const idToken = await t.identityProvider.mint('google', who);
    expect(
      (await t.request('POST', '/api/v1/auth/oauth-signin', { body: { provider: 'google', idToken, device } })).status,
    ).toBe(404);
    expect((await t.onboard(who)).userId).not.toBe(userId);
  });

  it('ends every session of the user, not just the one that asked', async () => {
    const { who, accessToken } = await t.onboard();
    const idToken = await t.identityProvider.mint('google', who);
    const other = await t.request('POST', '/api/v1/auth/oauth-signin', {
      body: { provider: 'google', idToken, device },
    });
    await t.request('DELETE', '/api/v1/user/profile', { token: accessToken });
    expect((await t.request('GET', '/api/v1/user/profile', { token: other.body.tokens.accessToken })).status).toBe(401);
  });
});

describe('stored items', () => {
  it('hold no personal data in plaintext, and each sealed value opens only for its own user and attribute', async () => {
    const who = t.identity({
      email: 'Plain.Text.Canary@example.com',
      name: 'Canary Q. Plaintext',
      givenName: 'Canary',
      familyName: 'Plaintext',
    });
    const { userId, accessToken } = await t.onboard(who);
    const deviceId = 'device-canary-4f1c';
    await t.request('PUT', '/api/v1/user/profile', {
      token: accessToken,
      body: { device: { platform: 'ios', deviceId, appVersion: '1.0.0' } },
    });
    const raw = JSON.stringify(await t.rawItems());
    // The provider subject and the device id too: they identify the person as surely as the email.
    for (const value of [
      who.email,
      who.email.toLowerCase(),
      who.name!,
      who.givenName!,
      who.familyName!,
      who.sub,
      deviceId,
    ]) {
      expect(raw).not.toContain(value);
    }
    expect((await t.request('GET', '/api/v1/user/profile', { token: accessToken })).body.device.deviceId).toBe(
      deviceId,
    );
    const item = (await t.rawItems()).find((i) => i.PK === `USER#${userId}` && i.SK === 'PROFILE')!;
    // One sealed message holds the profile's personal fields; it opens for its own user only.
    expect(await t.deps.pii.openRecord(userId, item.pii as string)).toMatchObject({
      email: who.email,
      name: who.name,
      device_id: deviceId,
    });
    await expect(t.deps.pii.openRecord(crypto.randomUUID(), item.pii as string)).rejects.toThrow();
    await expect(t.deps.pii.open(userId, 'email', item.pii as string)).rejects.toThrow();
    expect(item.GSI1PK).toMatch(/^EMAIL#[A-Za-z0-9_-]{43}$/);
  });

  it('key the email index by an HMAC of the normalised email, not a bare hash', async () => {
    const a = await t.deps.emailMac.mac('ada@example.com');
    expect(a).toBe(await t.deps.emailMac.mac('ada@example.com'));
    const { createHash } = await import('node:crypto');
    expect(a).not.toBe(createHash('sha256').update('ada@example.com').digest('base64url'));
  });
});
