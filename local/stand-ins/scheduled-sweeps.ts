import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';

/** The offline account and rule the scheduled events name; nothing reads them but the event's shape. */
const offlineAccount = '000000000000';

/** EventBridge's Scheduled Event, as the zone's sweep rule delivers it to the API function. */
export function scheduledEvent(region: string, now = new Date()): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: offlineAccount,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${offlineAccount}:rule/serenya-local-sweeps`],
    detail: {},
  };
}

/**
 * The schedule EventBridge runs in AWS (`components/platform-functions.ts`), offline: every
 * `intervalMs`, the scheduled event through the runtime's dispatcher, so unfinished deletions and
 * pending Apple token revocations are finished here too. One run at a time; the timer never keeps
 * the process alive.
 */
export function startScheduledSweeps(options: {
  region: string;
  handler: (event: ScheduledEvent) => Promise<unknown>;
  onError: (err: unknown) => void;
  /** @default 60 000 (a minute) */
  intervalMs?: number;
}) {
  let running: Promise<void> | undefined;
  const run = () => {
    if (running) return;
    running = options
      .handler(scheduledEvent(options.region))
      .then(() => undefined, options.onError)
      .finally(() => (running = undefined));
  };
  const timer = setInterval(run, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
