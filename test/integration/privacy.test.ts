import { beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, createTestRuntime, device, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime({ logLevel: 'DEBUG' });
});

describe('PHI canary', () => {
  it('no log line ever carries an email, a name or a token, whatever the route or outcome', async () => {
    const who = t.identity({
      sub: 'canary-sub-7f3a',
      email: 'zq.canary.7f3a@example.com',
      name: 'Zephyrine Canary',
      givenName: 'Zephyrine',
      familyName: 'Canarywood',
    });
    const secrets: string[] = [who.email, who.name!, who.givenName!, who.familyName!, 'Quillon', 'Quillonette'];
    let errorBodies = '';
    const logs = await captureOutput(async () => {
      const idToken = await t.identityProvider.mint('google', who);
      secrets.push(idToken);
      const onboarding = await t.onboard(who);
      secrets.push(onboarding.accessToken, onboarding.refreshToken);
      const calls = [
        t.request('GET', '/api/v1/user/profile', { token: onboarding.accessToken }),
        t.request('PUT', '/api/v1/user/profile', { token: onboarding.accessToken, body: { givenName: 'Quillon' } }),
        t.request('PUT', '/api/v1/user/profile', { token: onboarding.accessToken, body: { Quillonette: who.email } }),
        t.request('PUT', '/api/v1/user/profile', {
          token: onboarding.accessToken,
          rawBody: `{"name": "${who.name}`,
          headers: { 'content-type': 'application/json' },
        }),
        t.request('POST', '/api/v1/auth/oauth-onboarding', {
          body: { provider: 'google', idToken, consents: {}, device },
        }),
        t.request('POST', '/api/v1/auth/oauth-signin', { body: { provider: 'google', idToken, device } }),
        t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: onboarding.refreshToken } }),
        t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: onboarding.refreshToken } }),
        t.request('GET', `/api/v1/user/${encodeURIComponent(who.email)}`, { token: onboarding.accessToken }),
        t.request('GET', '/api/v1/user/profile', { token: `${onboarding.accessToken}x` }),
      ];
      for (const call of calls) {
        const res = await call;
        if (res.status >= 400) errorBodies += JSON.stringify(res.body);
      }
      await t.request('DELETE', '/api/v1/user/profile', { token: onboarding.accessToken });
    });

    expect(logs).toContain('"message":"request"'); // the capture saw the request log lines
    expect(logs.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(10);
    for (const secret of secrets) expect(logs).not.toContain(secret);
    // Error bodies never echo the request either.
    expect(errorBodies).toContain('VALIDATION_ERROR');
    for (const secret of secrets) expect(errorBodies).not.toContain(secret);
  });
});
