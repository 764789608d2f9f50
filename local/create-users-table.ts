import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { usersTable } from '../contract';

/** Creates the users table offline from the very definition the stacks deploy. */
export async function ensureUsersTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: usersTable.billingMode,
        AttributeDefinitions: usersTable.keyAttributes.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: usersTable.partitionKey, KeyType: 'HASH' },
          { AttributeName: usersTable.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: usersTable.globalSecondaryIndexes.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: index.projection },
        })),
        StreamSpecification: { StreamEnabled: true, StreamViewType: usersTable.streamViewType },
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
    return; // Kept from an earlier run (--data-dir).
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: usersTable.ttlAttribute, Enabled: true },
    }),
  );
  await client.send(new DescribeTableCommand({ TableName: tableName }));
}

/** Drops the users table offline, if there is one (items sealed with keys that are gone can no longer be read). */
export async function dropUsersTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
}
