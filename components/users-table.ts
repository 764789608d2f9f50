import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { itemKeys, usersTable } from '../contract';
import type { Statement } from './iam-statement';
import { classified } from './tags';
import { transformed, type Transform } from './transform';

export interface UsersTableArgs {
  /** The table's name; the runtime reads it from the environment. */
  tableName: string;
  /** KMS key of the home region. */
  kmsKeyArn: pulumi.Input<string>;
  /** Replica regions and the replica key each is encrypted with; exactly the zone's replicas. @default {} */
  replicaKeyArns?: Record<string, pulumi.Input<string>>;
  /** Point-in-time recovery. @default true */
  pointInTimeRecovery?: boolean;
  /** Refuse to delete the table. @default true */
  deletionProtection?: boolean;
  /** Changes to the table this component makes. @default none */
  transform?: { table?: Transform<aws.dynamodb.TableArgs> };
}

/**
 * The users table of seed 002 (see `contract.ts`, the one definition the offline platform
 * creates too) as a global table whose replicas are exactly the zone's replica regions.
 */
export class UsersTable extends pulumi.ComponentResource {
  public readonly table: aws.dynamodb.Table;

  constructor(name: string, args: UsersTableArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:data:UsersTable', name, {}, opts);
    this.table = this.createTable(name, args);
    this.registerOutputs({ tableName: this.table.name, streamArn: this.table.streamArn });
  }

  /** Item reads and writes on the table and its indexes: everything the API does with users. */
  grantItems(): Statement {
    return {
      Sid: 'UsersTable',
      Effect: 'Allow',
      Action: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
      ],
      Resource: [this.table.arn, pulumi.interpolate`${this.table.arn}/index/*`],
    };
  }

  /**
   * The chat function's streamed answers: the session and profile read with the token check, and a
   * stream's slot and daily count reserved in one transaction and freed after (no job item, no query).
   */
  grantStreamReservations(): Statement {
    return {
      Sid: 'StreamReservations',
      Effect: 'Allow',
      Action: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:ConditionCheckItem',
      ],
      Resource: this.table.arn,
    };
  }

  /** Reading and moving job items: the worker's claim and finish. */
  grantJobUpdates(): Statement {
    return {
      Sid: 'Jobs',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: this.table.arn,
    };
  }

  /**
   * The Sign in with Apple revocation queue (`itemKeys.appleRevocation`) and nothing else of the
   * table: the stream function keeps a token there, retries and deletes it once Apple revoked it.
   */
  grantAppleRevocations(): Statement {
    return {
      Sid: 'AppleRevocations',
      Effect: 'Allow',
      // Keep, retry and delete each; listing them all is the scheduled sweep's, on the API function.
      Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      Resource: this.table.arn,
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [itemKeys.appleRevocation('').PK] } },
    };
  }

  /** What Lambda's event source mapping needs of the stream, with the function's role. */
  grantStreamRead(): Statement[] {
    return [
      {
        Sid: 'ReadStream',
        Effect: 'Allow',
        Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        Resource: this.table.streamArn,
      },
      // ListStreams has no resource type: any narrower resource never matches.
      { Sid: 'ListStreams', Effect: 'Allow', Action: ['dynamodb:ListStreams'], Resource: '*' },
    ];
  }

  private createTable(name: string, args: UsersTableArgs) {
    const pointInTimeRecovery = args.pointInTimeRecovery ?? true;
    return new aws.dynamodb.Table(
      ...transformed(
        args.transform?.table,
        `${name}-table`,
        {
          name: args.tableName,
          billingMode: usersTable.billingMode,
          hashKey: usersTable.partitionKey,
          rangeKey: usersTable.sortKey,
          attributes: usersTable.keyAttributes.map((attribute) => ({ name: attribute, type: 'S' })),
          globalSecondaryIndexes: usersTable.globalSecondaryIndexes.map((index) => ({
            name: index.name,
            hashKey: index.partitionKey,
            rangeKey: index.sortKey,
            projectionType: index.projection,
          })),
          ttl: { attributeName: usersTable.ttlAttribute, enabled: true },
          streamEnabled: true,
          streamViewType: usersTable.streamViewType,
          serverSideEncryption: { enabled: true, kmsKeyArn: args.kmsKeyArn },
          pointInTimeRecovery: { enabled: pointInTimeRecovery },
          deletionProtectionEnabled: args.deletionProtection ?? true,
          // Each replica is a whole copy of every user: it is protected like the table itself.
          replicas: Object.entries(args.replicaKeyArns ?? {}).map(([regionName, kmsKeyArn]) => ({
            regionName,
            kmsKeyArn,
            pointInTimeRecovery,
            deletionProtectionEnabled: args.deletionProtection ?? true,
            propagateTags: true,
          })),
          tags: classified('pii'),
        },
        { parent: this },
      ),
    );
  }
}
