import type { ScheduledEvent } from 'aws-lambda';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { classifyEvent } from '../../handlers/edge/dispatch';
import { scheduledEvent, startScheduledSweeps } from '../../local/stand-ins/scheduled-sweeps';

/** The offline platform runs the zone's scheduled sweeps as EventBridge does in AWS. */
describe('the offline sweep schedule', () => {
  it('hands the dispatcher EventBridge’s Scheduled Event, one run at a time, and stops cleanly', async () => {
    // The schedule's own clock, so a busy machine cannot starve it: runs of 35 ms every 10 ms, for 150 ms.
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const events: ScheduledEvent[] = [];
    let inFlight = 0;
    let overlapped = false;
    const sweeps = startScheduledSweeps({
      region: 'eu-west-1',
      intervalMs: 10,
      onError: (err) => {
        throw err;
      },
      handler: async (event) => {
        overlapped ||= inFlight > 0;
        inFlight++;
        events.push(event);
        await new Promise((resolve) => setTimeout(resolve, 35));
        inFlight--;
      },
    });
    await vi.advanceTimersByTimeAsync(150);
    const stopped = sweeps.stop();
    await vi.advanceTimersByTimeAsync(35);
    await stopped;
    const count = events.length;
    await vi.advanceTimersByTimeAsync(40);
    expect(count).toBeGreaterThanOrEqual(2);
    expect(events.length).toBe(count);
    expect(overlapped).toBe(false);
    expect(inFlight).toBe(0);
    for (const event of events) expect(classifyEvent(event)).toBe('schedule');
    expect(events[0]).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      region: 'eu-west-1',
      detail: {},
    });
    expect(events[0]!.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('is the shape the runtime’s scheduled handler takes', () => {
    expect(classifyEvent(scheduledEvent('us-east-1'))).toBe('schedule');
  });
});
