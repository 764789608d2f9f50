import { createHmac, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

/**
 * Refresh sessions against someone who reads a copy of the table (a backup, an export): what is
 * stored cannot forge the proof that a spent token was issued, so it cannot end anybody's session.
 * And a session slides with each refresh only up to its absolute lifetime.
 */
let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});

const refresh = (refreshToken: string) => t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
const sessionItem = async (userId: string, sessionId: string) =>
  (await t.rawItems()).find((i) => i.PK === `USER#${userId}` && i.SK === `SESSION#${sessionId}`)!;

describe('a copy of the table', () => {
  it('cannot forge a replay that ends a session, whatever stored value it tries as the key', async () => {
    const user = await t.onboard();
    const next = (await refresh(user.refreshToken)).body.tokens.refreshToken as string;
    const [userId, sessionId] = next.split('.') as [string, string];
    const item = await sessionItem(userId, sessionId);
    const candidates = Object.values(item).filter((v): v is string => typeof v === 'string');
    expect(candidates.length).toBeGreaterThan(0);
    for (const key of candidates) {
      const tag = createHmac('sha256', Buffer.from(key, 'base64url'))
        .update(`${userId}.${sessionId}.0`)
        .digest()
        .subarray(0, 16)
        .toString('base64url');
      const forged = `${userId}.${sessionId}.0.${randomBytes(32).toString('base64url')}.${tag}`;
      const res = await refresh(forged);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_REFRESH_TOKEN');
    }
    // The session lives on for its holder.
    expect((await refresh(next)).status).toBe(200);
  });

  it('still ends the session when a really spent token comes back', async () => {
    const user = await t.onboard();
    const next = (await refresh(user.refreshToken)).body.tokens.refreshToken as string;
    expect((await refresh(user.refreshToken)).body.error.code).toBe('TOKEN_REUSED');
    expect((await refresh(next)).status).toBe(401);
  });
});

describe('a session refreshed often', () => {
  it(`ends ${90} days after it was opened: refresh answers 401 SESSION_EXPIRED, and its access tokens stop`, async () => {
    expect(t.config.sessionLifetimeSeconds).toBe(90 * 86400);
    const user = await t.onboard();
    let current = user.refreshToken;
    let accessToken = user.accessToken;
    // Every 20 days, well within the 30-day idle limit: 20, 40, 60, 80 days.
    for (let day = 20; day <= 80; day += 20) {
      t.clock.advance(20 * 86400);
      const res = await refresh(current);
      expect(res.status, `day ${day}`).toBe(200);
      current = res.body.tokens.refreshToken;
      accessToken = res.body.tokens.accessToken;
    }
    // Five minutes before the end: a last refresh, whose access token would outlive the session.
    t.clock.advance(10 * 86400 - 300);
    const last = await refresh(current);
    expect(last.status).toBe(200);
    current = last.body.tokens.refreshToken;
    accessToken = last.body.tokens.accessToken;
    const [userId, sessionId] = current.split('.') as [string, string];
    const item = await sessionItem(userId, sessionId);
    // The idle expiry slides, but never past the absolute end.
    expect(Number(item.ttl)).toBeLessThanOrEqual(Date.parse(String(item.created_at)) / 1000 + 90 * 86400);
    expect((await t.request('GET', '/api/v1/user/profile', { token: accessToken })).status).toBe(200);

    t.clock.advance(360); // 90 days and a minute
    const late = await refresh(current);
    expect(late.status).toBe(401);
    expect(late.body.error).toMatchObject({ code: 'SESSION_EXPIRED', retryable: false });
    const read = await t.request('GET', '/api/v1/user/profile', { token: accessToken });
    expect(read.status).toBe(401);
    expect(read.body.error.code).toBe('SESSION_ENDED');
  });
});
