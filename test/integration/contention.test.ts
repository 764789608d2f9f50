import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envVars } from '../../contract';
import { createTestRuntime, type TestRuntime, type TestResponse } from '../support/test-runtime';

/**
 * One signed-in user racing their own requests must not make the API answer 5xx (a 5xx pages
 * on-call and rolls a release back): a request that keeps losing the optimistic write is the
 * client's to retry, 409 TRY_AGAIN with Retry-After, and the state stays whole.
 */
let t: TestRuntime;
beforeAll(async () => {
  // Room for every racing job, so each must win the slots' version rather than meet the quota.
  t = await createTestRuntime({
    env: { [envVars.quotas]: JSON.stringify({ concurrentJobs: 50, dailyChatFree: 100 }) },
  });
});
afterAll(() => t.stop());

type Answer = TestResponse;
const RACERS = 20;

/** Each answer is a success or a retryable 409 with Retry-After; never a 5xx. */
function expectSuccessOrTryAgain(answers: Answer[], success: number) {
  expect(answers.map((a) => a.status).filter((s) => s !== success && s !== 409)).toEqual([]);
  for (const a of answers.filter((x) => x.status === 409)) {
    expect(a.body.error).toMatchObject({ code: 'TRY_AGAIN', retryable: true });
    expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }
  expect(answers.some((a) => a.status === success)).toBe(true);
}

describe('one user racing their own writes', () => {
  it(`answers ${RACERS} concurrent profile changes 200 or 409 TRY_AGAIN, and keeps one of the changes`, async () => {
    const user = await t.onboard();
    const answers = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        t.request('PUT', '/api/v1/user/profile', { token: user.accessToken, body: { name: `Name ${i}` } }),
      ),
    );
    expectSuccessOrTryAgain(answers, 200);
    const final = await t.request('GET', '/api/v1/user/profile', { token: user.accessToken });
    expect(answers.filter((a) => a.status === 200).map((a) => a.body.name)).toContain(final.body.name);
  });

  it(`answers ${RACERS} concurrent job reservations 202 or 409 TRY_AGAIN, and counts only the jobs it made`, async () => {
    const user = await t.onboard();
    const answers = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        t.request('POST', '/api/v1/chat/messages', { token: user.accessToken, body: { message: `question ${i}` } }),
      ),
    );
    expectSuccessOrTryAgain(answers, 202);
    const items = (await t.rawItems()).filter((i) => i.PK === `USER#${user.userId}`);
    const jobs = items.filter((i) => String(i.SK).startsWith('JOB#'));
    expect(jobs.length).toBe(answers.filter((a) => a.status === 202).length);
    const slots = items.find((i) => i.SK === 'QUOTA#ACTIVE')!.slots as Record<string, number>;
    expect(Object.keys(slots).sort()).toEqual(jobs.map((j) => j.job_id).sort());
  });
});
