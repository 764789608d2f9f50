import { randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsDeps } from '../../handlers/edge/aws-deps';
import { parseLambdaConfig } from '../../handlers/core/config';
import { createLogger } from '../../handlers/core/logger';
import { deployedAppEnv, deployedKeyEnv } from '../../local/fixtures/deployed-env';
import { createTestRuntime, device, type TestRuntime } from '../support/test-runtime';

/**
 * One sealed message per profile: a profile read costs one KMS call on a data-key cache miss and
 * none on a hit (counted at a mocked KMS client behind the real AWS keyring and cache); profiles
 * written one message per attribute still read, and are rewritten in the new format on the next
 * change.
 */
describe('a profile read, with the AWS keyring', () => {
  const kms = mockClient(KMSClient);
  const issued = new Map<string, Buffer>();
  beforeAll(() => {
    kms.on(GenerateDataKeyCommand).callsFake((input: { KeyId: string; NumberOfBytes?: number }) => {
      const plaintext = randomBytes(input.NumberOfBytes ?? 32);
      const blob = randomBytes(48);
      // Copies: the Encryption SDK zeroes the data keys it was handed once it is done with them.
      issued.set(blob.toString('base64'), Buffer.from(plaintext));
      return { KeyId: input.KeyId, Plaintext: plaintext, CiphertextBlob: blob };
    });
    kms.on(DecryptCommand).callsFake((input: { CiphertextBlob: Uint8Array; KeyId: string }) => ({
      KeyId: input.KeyId,
      Plaintext: Buffer.from(issued.get(Buffer.from(input.CiphertextBlob).toString('base64'))!),
    }));
  });
  afterAll(() => kms.restore());
  const freshDeps = () => {
    const { app, keys } = parseLambdaConfig({ ...deployedAppEnv, ...deployedKeyEnv });
    return createAwsDeps(app, keys, createLogger('eu', 'SILENT'));
  };

  it('costs one KMS call on a cache miss and none on a hit', async () => {
    const userId = crypto.randomUUID();
    const sealed = await freshDeps().pii.sealRecord(userId, {
      email: 'ada@example.com',
      name: 'Ada',
      given_name: 'Ada',
      family_name: 'Lovelace',
      device_id: 'd-1',
    });
    kms.resetHistory();
    const reader = freshDeps(); // a cold start: empty cache
    expect(await reader.pii.openRecord(userId, sealed)).toMatchObject({ email: 'ada@example.com', device_id: 'd-1' });
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
    await reader.pii.openRecord(userId, sealed);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
  });

  it('where the first format, a message per attribute, cost one KMS call per field', async () => {
    const userId = crypto.randomUUID();
    const writer = freshDeps();
    const fields = await Promise.all(
      (['email', 'name', 'given_name', 'family_name'] as const).map(
        async (a) => [a, await writer.pii.seal(userId, a, `${a} value`)] as const,
      ),
    );
    kms.resetHistory();
    const reader = freshDeps();
    for (const [attribute, sealed] of fields) await reader.pii.open(userId, attribute, sealed);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(4);
  });
});

describe('profiles written one message per attribute', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await createTestRuntime();
  });

  it('still read, and are rewritten as one message on the next change', async () => {
    const { userId, accessToken, who } = await t.onboard();
    const profileKey = { PK: `USER#${userId}`, SK: 'PROFILE' };
    const current = (await t.rawItems()).find((i) => i.PK === profileKey.PK && i.SK === profileKey.SK)!;
    // The first format: each field its own message, the device id sealed inside current_device.
    const { pii: _record, pii_version: _version, ...rest } = current;
    const legacy = {
      ...rest,
      email: await t.deps.pii.seal(userId, 'email', who.email),
      name: await t.deps.pii.seal(userId, 'name', who.name!),
      given_name: await t.deps.pii.seal(userId, 'given_name', who.givenName!),
      family_name: await t.deps.pii.seal(userId, 'family_name', who.familyName!),
      current_device: {
        platform: 'ios',
        app_version: '1.0.0',
        device_id: await t.deps.pii.seal(userId, 'device_id', device.deviceId),
      },
    };
    await t.deps.dynamo.send(new PutCommand({ TableName: t.config.usersTable, Item: legacy }));
    const read = await t.request('GET', '/api/v1/user/profile', { token: accessToken });
    expect(read.body).toMatchObject({
      email: who.email,
      name: who.name,
      givenName: who.givenName,
      familyName: who.familyName,
      device: { deviceId: device.deviceId },
    });

    const changed = await t.request('PUT', '/api/v1/user/profile', {
      token: accessToken,
      body: { givenName: 'Augusta' },
    });
    expect(changed.body).toMatchObject({
      email: who.email,
      givenName: 'Augusta',
      familyName: who.familyName,
      device: { deviceId: device.deviceId },
    });
    const rewritten = (await t.rawItems()).find((i) => i.PK === profileKey.PK && i.SK === profileKey.SK)!;
    expect(Object.keys(rewritten)).not.toEqual(expect.arrayContaining(['email']));
    for (const legacyAttribute of ['email', 'name', 'given_name', 'family_name'])
      expect(rewritten[legacyAttribute]).toBeUndefined();
    expect((rewritten.current_device as Record<string, unknown>).device_id).toBeUndefined();
    expect(await t.deps.pii.openRecord(userId, rewritten.pii as string)).toMatchObject({
      email: who.email,
      given_name: 'Augusta',
      device_id: device.deviceId,
    });
  });
});
