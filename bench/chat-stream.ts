import { fileURLToPath } from 'node:url';
import { freePort } from '../local/free-port';
import { createLocalIdentityProvider } from '../local/stand-ins/identity-provider';
import { loadOrCreateLocalKeys } from '../local/local-keys';
import { localClientIds } from '../local/offline-config';
import { startOfflinePlatform } from '../local/offline-platform';

const root = fileURLToPath(new URL('..', import.meta.url));
const consent = { version: '1.0', accepted: true };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * A chat answer on `npm start`, both ways, with the model writing at the same pace (the Bedrock
 * stand-in spends `deltaDelayMs` per piece of the answer on either route): streamed (time to the
 * first delta and to the `done` event) beside the polled job (submit, poll `/chat/status` at the
 * app's interval, read the answer from the completed status).
 */
export async function measureChatStream(
  options: { rounds?: number; deltaDelayMs?: number; pollIntervalMs?: number } = {},
) {
  const rounds = options.rounds ?? 8;
  const deltaDelayMs = options.deltaDelayMs ?? 60;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const saved = { ...process.env };
  process.env.SERENYA_STANDIN_DELTA_DELAY_MS = String(deltaDelayMs);
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const platform = await startOfflinePlatform({
    port: await freePort(),
    keysDir: `${root}/.local`,
    logLevel: 'SILENT',
  }).catch((err) => {
    process.env = saved;
    throw err;
  });
  try {
    const identityProvider = createLocalIdentityProvider(
      loadOrCreateLocalKeys(`${root}/.local`).identityProviderKeyPem,
      localClientIds,
    );
    const idToken = await identityProvider.mint('google', {
      sub: `chat-bench-${Date.now()}`,
      email: 'chat-bench@example.com',
      name: 'Chat Bench',
    });
    const send = (path: string, body: unknown, token?: string) =>
      fetch(`${platform.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    const onboarded = (await (
      await send('/api/v1/auth/oauth-onboarding', {
        provider: 'google',
        residency: 'IE',
        idToken,
        consents: { privacy_policy: consent, terms_of_service: consent, medical_disclaimer: consent },
        device: { platform: 'ios', deviceId: 'chat-bench', appVersion: '1.0.0' },
      })
    ).json()) as { tokens: { accessToken: string } };
    const token = onboarded.tokens.accessToken;
    const question = {
      message:
        'My ferritin is 14 ng/mL and my haemoglobin 11.9 g/dL; what could explain both, and what should I ask my doctor?',
    };

    const streamed = { firstMs: [] as number[], lastMs: [] as number[], deltas: 0 };
    const polled = { completeMs: [] as number[], polls: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      const res = await send('/api/v1/chat/stream', question, token);
      if (res.status !== 200) throw new Error(`/chat/stream answered ${res.status}`);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      let first: number | undefined;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (first === undefined && text.includes('event: delta')) first = performance.now() - started;
      }
      if (!text.includes('event: done')) throw new Error('the stream ended without its done event');
      streamed.firstMs.push(first!);
      streamed.lastMs.push(performance.now() - started);
      streamed.deltas = text.split('event: delta').length - 1;

      const submitted = performance.now();
      const { jobId } = (await (await send('/api/v1/chat/messages', question, token)).json()) as { jobId: string };
      for (let polls = 1; ; polls++) {
        await new Promise((r) => setTimeout(r, pollIntervalMs));
        const status = (await (
          await fetch(`${platform.url}/api/v1/chat/status/${jobId}`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as {
          status: string;
          response?: { message: string };
        };
        if (status.status === 'failed') throw new Error('the polled chat job failed');
        if (status.status === 'completed' && status.response) {
          polled.completeMs.push(performance.now() - submitted);
          polled.polls.push(polls);
          break;
        }
      }
    }
    return {
      rounds,
      deltaDelayMs,
      pollIntervalMs,
      deltas: streamed.deltas,
      firstDeltaMs: median(streamed.firstMs),
      lastDeltaMs: median(streamed.lastMs),
      polledCompleteMs: median(polled.completeMs),
      polls: median(polled.polls),
    };
  } finally {
    await platform.stop();
    process.env = saved;
  }
}

/** `npx tsx bench/chat-stream.ts`: this measurement alone. */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await measureChatStream(), null, 2));
}
