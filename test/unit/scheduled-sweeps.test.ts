import type { ScheduledEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { classifyEvent } from '../../handlers/edge/dispatch';
import { scheduledEvent, startScheduledSweeps } from '../../local/stand-ins/scheduled-sweeps';

/** The offline platform runs the zone's scheduled sweeps as EventBridge does in AWS. */
describe('the offline sweep schedule', () => {
  it('hands the dispatcher EventBridge’s Scheduled Event, one run at a time, and stops cleanly', async () => {
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
    await new Promise((resolve) => setTimeout(resolve, 150));
    await sweeps.stop();
    const count = events.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
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
