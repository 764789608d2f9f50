import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/** A stream record as Lambda delivers it: JSON numbers for times, the event source named. */
function toLambdaRecord(record: _Record, streamArn: string, region: string): DynamoDBRecord {
  const { ApproximateCreationDateTime, ...rest } = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(rest as DynamoDBRecord['dynamodb']),
      ApproximateCreationDateTime: ApproximateCreationDateTime
        ? Math.floor(ApproximateCreationDateTime.getTime() / 1000)
        : undefined,
    },
  };
}

/**
 * Does offline what Lambda's event source mapping does in AWS: reads the table's stream and
 * hands batches to the stream handler, re-reading from a record the handler reports as failed.
 */
export function startStreamPoller(options: {
  dynamo: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  table: string;
  region: string;
  handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
  intervalMs?: number;
  onError?: (err: unknown) => void;
}) {
  const { dynamo, streams, table, region, handler, intervalMs = 200 } = options;
  const iterators = new Map<string, string | undefined>();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  async function poll(): Promise<void> {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: table }));
    const streamArn = Table?.LatestStreamArn;
    if (!streamArn) return;
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId!;
      if (!iterators.has(shardId)) {
        const { ShardIterator } = await streams.send(
          new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
        );
        iterators.set(shardId, ShardIterator);
      }
      const iterator = iterators.get(shardId);
      if (!iterator) continue; // closed shard, read to its end
      let page: GetRecordsCommandOutput;
      try {
        page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      } catch (err) {
        // DynamoDB Local can call an iterator trimmed (seen with several tables streaming at once):
        // start the shard again from its oldest record; the handlers are idempotent, as in AWS.
        if ((err as Error).name !== 'TrimmedDataAccessException' && (err as Error).name !== 'ExpiredIteratorException')
          throw err;
        iterators.delete(shardId);
        continue;
      }
      const { Records = [], NextShardIterator } = page;
      if (Records.length === 0) {
        iterators.set(shardId, NextShardIterator);
        continue;
      }
      const { batchItemFailures } = await handler({
        Records: Records.map((r) => toLambdaRecord(r, streamArn, region)),
      });
      const firstFailed = batchItemFailures[0]?.itemIdentifier;
      if (firstFailed) {
        const { ShardIterator } = await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
            SequenceNumber: firstFailed,
          }),
        );
        iterators.set(shardId, ShardIterator);
      } else {
        iterators.set(shardId, NextShardIterator);
      }
    }
  }

  // Polls run one after another, never two on the same shard iterator.
  const tick = () => (running = running.then(poll).catch((err) => options.onError?.(err)));
  const loop = async () => {
    while (!stopped) {
      await tick();
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  };
  void loop();

  return {
    /** Resolves once every record written so far has been handed to the handler. */
    drain: () => tick(),
    async stop(): Promise<void> {
      stopped = true;
      await running;
    },
  };
}
