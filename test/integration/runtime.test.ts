import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Model } from '../../handlers/domain/jobs/job';
import { createRuntime } from '../../handlers/edge/runtime';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(() => t.stop());

const upload = {
  Records: [{ eventSource: 'aws:s3', s3: { object: { key: 'jobs/u/j/input' } } }],
} as unknown as S3Event;

describe('the runtime', () => {
  it('loads the model on the first upload only, and again after a load that failed', async () => {
    const model = vi.fn<Model>();
    const load = vi.fn(async () => model).mockRejectedValueOnce(new Error('chunk missing'));
    const runtime = createRuntime({ ...t.deps, model: load });
    expect(load).not.toHaveBeenCalled();
    await expect(runtime.uploads(upload)).rejects.toThrow('chunk missing');
    await runtime.uploads(upload);
    await runtime.uploads(upload);
    expect(load).toHaveBeenCalledTimes(2);
    // Not a job input: the model loaded, and ran on nothing.
    expect(model).not.toHaveBeenCalled();
  });
});
