import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { usersTable } from '../contract';
import { classified } from './tags';

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

  private createTable(name: string, args: UsersTableArgs) {
    const pointInTimeRecovery = args.pointInTimeRecovery ?? true;
    return new aws.dynamodb.Table(
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
    );
  }
}
