import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Statement } from './iam-statement';
import { classified } from './tags';

/** What the functions do with the data key: envelope encryption of fields and bucket objects. */
const dataKeyActions = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];

/**
 * Administration of a key, by its named administrators only. Not `kms:CreateGrant` (a grant can hand
 * any use of the key to anyone: only AWS services get one, for the resources they encrypt), nor
 * `kms:ReplicateKey` / `kms:UpdatePrimaryRegion` (the data key's own statement bounds their regions).
 */
const administration = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:GetPublicKey',
  'kms:ListResourceTags',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListKeyRotations',
  'kms:PutKeyPolicy',
  'kms:UpdateKeyDescription',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:RotateKeyOnDemand',
  'kms:RevokeGrant',
  'kms:RetireGrant',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

export interface ZoneKeysArgs {
  /** The zone, used in key aliases and descriptions. */
  zone: string;
  /** The home region, where the keys live (bounds the services that may use them for the account). */
  region: string;
  /** Regions that get a replica of the data key (the users table's replica regions). @default [] */
  replicaRegions?: string[];
  /** A provider pinned to each replica region. */
  replicaProviders?: Record<string, aws.Provider>;
  /** Roles that encrypt and decrypt with the data key directly: PII fields (the Encryption SDK). */
  dataKeyUsers: pulumi.Input<string>[];
  /**
   * Roles that may decrypt only Encryption SDK messages sealed under this encryption context (the
   * stream function: the Apple refresh token). Through DynamoDB and S3 every role of the account
   * uses the key by its own IAM policy (`grantDataKeyThroughServices`). @default none
   */
  dataKeyOpeners?: Array<{ role: pulumi.Input<string>; encryptionContext: Record<string, string> }>;
  /**
   * The roles that administer the keys (policy, rotation, deletion, replication into `allowedRegions`):
   * the role that deploys the stack must be one, or the next `pulumi up` cannot update a key policy.
   */
  administrators: pulumi.Input<string>[];
  /** The zone's regions: the only ones a replica of the data key may be made in. */
  allowedRegions: string[];
  /** Roles that sign access tokens. */
  signers: pulumi.Input<string>[];
  /** Roles that key the email index. */
  macUsers: pulumi.Input<string>[];
  /** Days KMS waits before deleting a key scheduled for deletion. @default 30 */
  deletionWindowInDays?: number;
}

/** Who administers a key and, for the multi-Region data key, where it may be replicated and who opens what. */
interface KeyAdministration {
  administrators: pulumi.Input<string>[];
  /** Regions `ReplicateKey` (`kms:ReplicaRegion`) and `UpdatePrimaryRegion` (`kms:PrimaryRegion`) may name; absent for single-Region keys. */
  replicaRegions?: string[];
  openers?: ZoneKeysArgs['dataKeyOpeners'];
}

/** `kms:EncryptionContext:<key>` conditions: the Encryption SDK sends a message's context to KMS Decrypt. */
const contextConditions = (context: Record<string, string>) =>
  Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));

/**
 * The zone's KMS keys: a multi-Region symmetric data key (rotation on) with a replica in each
 * replica region, an RSA key that signs access tokens, and an HMAC key for the email index. Each
 * key policy names the roles that use it and the roles that administer it; the account may read the
 * keys' settings, grant them only to AWS services for the resources they encrypt, and use the data
 * keys only through DynamoDB (from any of the global table's regions), and S3 and SNS in the key's
 * region (no `kms:*`).
 */
export class ZoneKeys extends pulumi.ComponentResource {
  public readonly dataKey: aws.kms.Key;
  public readonly dataKeyReplicas: Record<string, aws.kms.ReplicaKey>;
  public readonly signingKey: aws.kms.Key;
  public readonly macKey: aws.kms.Key;

  constructor(name: string, args: ZoneKeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:security:ZoneKeys', name, {}, opts);
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    this.dataKey = this.createDataKey(name, args, account);
    this.dataKeyReplicas = this.createDataKeyReplicas(name, args, account);
    this.signingKey = this.createSigningKey(name, args, account);
    this.macKey = this.createMacKey(name, args, account);
    this.registerOutputs({
      dataKeyArn: this.dataKey.arn,
      signingKeyArn: this.signingKey.arn,
      macKeyArn: this.macKey.arn,
    });
  }

  /** Encrypting and decrypting with the zone's data key (PII, the table, the buckets). */
  grantDataKey(): Statement {
    return {
      Sid: 'DataKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: this.dataKey.arn,
    };
  }

  /**
   * The data key as DynamoDB and S3 use it for the caller (a table's items, a stream's records, a
   * bucket's objects), in the key's region; never directly, so no Encryption SDK message (PII) opens.
   */
  grantDataKeyThroughServices(region: string, services: string[] = ['dynamodb', 's3']): Statement {
    return {
      Sid: 'DataKeyThroughServices',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: this.dataKey.arn,
      Condition: {
        StringEquals: { 'kms:ViaService': services.map((service) => `${service}.${region}.amazonaws.com`) },
      },
    };
  }

  /** Decrypting only the Encryption SDK messages sealed under `encryptionContext` (e.g. one PII attribute). */
  grantOpen(sid: string, encryptionContext: Record<string, string>): Statement {
    return {
      Sid: sid,
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: this.dataKey.arn,
      Condition: { StringEquals: contextConditions(encryptionContext) },
    };
  }

  /** Signing access tokens; verifying needs no KMS call (the runtime has the public key). */
  grantSign(): Statement {
    return { Sid: 'SignAccessTokens', Effect: 'Allow', Action: ['kms:Sign'], Resource: this.signingKey.arn };
  }

  /** Keyed MACs of emails and external subjects, for the indexes. */
  grantMac(): Statement {
    return { Sid: 'KeyEmailIndex', Effect: 'Allow', Action: ['kms:GenerateMac'], Resource: this.macKey.arn };
  }

  /**
   * A key policy: the named administrators administer the key (the account only reads its settings);
   * the account may grant it only to AWS services and *use* it, but only through
   * the AWS services that encrypt with it (DynamoDB and S3 use the caller's permissions on the key
   * when a table or object is created); the named roles use it directly. Without the usage
   * statement IAM can grant nobody `Decrypt`, and `CreateTable` fails.
   *
   * S3 and SNS reach the key from its own region. DynamoDB reaches a global table's keys from any of
   * the table's regions: the home region's DynamoDB creates each replica (and its grant on the replica
   * key), and replication decrypts on one side and encrypts on the other, so its endpoint is matched
   * as `dynamodb.*`. That opens no region: DynamoDB encrypts a table only with a key of the table's
   * own region, and the table's regions are the zone's.
   */
  private policy(
    account: pulumi.Output<string>,
    region: pulumi.Input<string>,
    users: pulumi.Input<string>[],
    actions: string[],
    admin: KeyAdministration,
    services: string[] = [],
    viaServices: string[] = [],
  ) {
    const usage = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];
    const regional = viaServices.filter((service) => service !== 'dynamodb');
    return pulumi.jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AdministratorsAdministerTheKey',
          Effect: 'Allow',
          Principal: { AWS: admin.administrators },
          Action: administration,
          Resource: '*',
        },
        // Reviewers and AWS Config read the key's settings through IAM; reading changes nothing.
        {
          Sid: 'AccountReadsTheKey',
          Effect: 'Allow',
          Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
          Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags'],
          Resource: '*',
        },
        ...(admin.replicaRegions
          ? [
              {
                Sid: 'AdministratorsReplicateOnlyIntoTheZone',
                Effect: 'Allow',
                Principal: { AWS: admin.administrators },
                Action: ['kms:ReplicateKey'],
                Resource: '*',
                Condition: { StringEquals: { 'kms:ReplicaRegion': admin.replicaRegions } },
              },
              {
                Sid: 'AdministratorsMoveThePrimaryOnlyWithinTheZone',
                Effect: 'Allow',
                Principal: { AWS: admin.administrators },
                Action: ['kms:UpdatePrimaryRegion'],
                Resource: '*',
                Condition: { StringEquals: { 'kms:PrimaryRegion': admin.replicaRegions } },
              },
            ]
          : []),
        // DynamoDB and S3 create grants with the caller's permission when a table or object uses the key.
        ...(viaServices.length
          ? [
              {
                Sid: 'AccountGrantsOnlyToAwsServices',
                Effect: 'Allow',
                Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
                Action: ['kms:CreateGrant'],
                Resource: '*',
                Condition: {
                  StringEquals: { 'kms:CallerAccount': account },
                  Bool: { 'kms:GrantIsForAWSResource': 'true' },
                },
              },
            ]
          : []),
        ...(viaServices.includes('dynamodb')
          ? [
              {
                Sid: 'AccountUsesTheKeyThroughDynamoDB',
                Effect: 'Allow',
                Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
                Action: usage,
                Resource: '*',
                Condition: {
                  StringEquals: { 'kms:CallerAccount': account },
                  StringLike: { 'kms:ViaService': 'dynamodb.*.amazonaws.com' },
                },
              },
            ]
          : []),
        ...(regional.length
          ? [
              {
                Sid: 'AccountUsesTheKeyThroughZoneServices',
                Effect: 'Allow',
                Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
                Action: usage,
                Resource: '*',
                Condition: {
                  StringEquals: {
                    'kms:CallerAccount': account,
                    'kms:ViaService': regional.map((service) => pulumi.interpolate`${service}.${region}.amazonaws.com`),
                  },
                },
              },
            ]
          : []),
        ...(users.length
          ? [{ Sid: 'NamedRolesUseTheKey', Effect: 'Allow', Principal: { AWS: users }, Action: actions, Resource: '*' }]
          : []),
        ...(admin.openers ?? []).map(({ role, encryptionContext }, i) => ({
          Sid: `NamedRoleOpensOnlyItsMessages${i}`,
          Effect: 'Allow',
          Principal: { AWS: role },
          Action: ['kms:Decrypt'],
          Resource: '*',
          Condition: { StringEquals: contextConditions(encryptionContext) },
        })),
        ...services.map((service) => ({
          Sid: `${service.split('.')[0]}PublishesEncrypted`,
          Effect: 'Allow',
          Principal: { Service: service },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceAccount': account } },
        })),
      ],
    });
  }

  /** The multi-Region data key's (and its replicas') administration: replicas only in the zone. */
  private dataKeyAdministration(args: ZoneKeysArgs): KeyAdministration {
    return { administrators: args.administrators, replicaRegions: args.allowedRegions, openers: args.dataKeyOpeners };
  }

  private createDataKey(name: string, args: ZoneKeysArgs, account: pulumi.Output<string>) {
    const key = new aws.kms.Key(
      `${name}-data`,
      {
        description: `Serenya ${args.zone}: users table, PII fields, temp and audit buckets`,
        multiRegion: true,
        enableKeyRotation: true,
        deletionWindowInDays: args.deletionWindowInDays ?? 30,
        // CloudWatch alarms publish to SNS topics encrypted with this key.
        policy: this.policy(
          account,
          args.region,
          args.dataKeyUsers,
          dataKeyActions,
          this.dataKeyAdministration(args),
          ['cloudwatch.amazonaws.com'],
          ['dynamodb', 's3', 'sns'],
        ),
        tags: classified('pii'),
      },
      { parent: this },
    );
    new aws.kms.Alias(
      `${name}-data-alias`,
      { name: `alias/serenya-${args.zone}-data`, targetKeyId: key.keyId },
      { parent: this },
    );
    return key;
  }

  private createDataKeyReplicas(name: string, args: ZoneKeysArgs, account: pulumi.Output<string>) {
    return Object.fromEntries(
      (args.replicaRegions ?? []).map((region) => {
        const provider = args.replicaProviders?.[region];
        if (!provider) throw new Error(`ZoneKeys: no provider for replica region ${region}`);
        const replica = new aws.kms.ReplicaKey(
          `${name}-data-${region}`,
          {
            primaryKeyArn: this.dataKey.arn,
            description: `Serenya ${args.zone}: replica of the data key in ${region}`,
            deletionWindowInDays: args.deletionWindowInDays ?? 30,
            policy: this.policy(
              account,
              region,
              args.dataKeyUsers,
              dataKeyActions,
              this.dataKeyAdministration(args),
              [],
              ['dynamodb'],
            ),
            tags: classified('pii'),
          },
          { parent: this, provider },
        );
        return [region, replica];
      }),
    );
  }

  private createSigningKey(name: string, args: ZoneKeysArgs, account: pulumi.Output<string>) {
    const key = new aws.kms.Key(
      `${name}-signing`,
      {
        description: `Serenya ${args.zone}: signs access tokens (RS256)`,
        customerMasterKeySpec: 'RSA_2048',
        keyUsage: 'SIGN_VERIFY',
        deletionWindowInDays: args.deletionWindowInDays ?? 30,
        policy: this.policy(account, args.region, args.signers, ['kms:Sign', 'kms:DescribeKey'], {
          administrators: args.administrators,
        }),
        tags: classified('none'),
      },
      { parent: this },
    );
    new aws.kms.Alias(
      `${name}-signing-alias`,
      { name: `alias/serenya-${args.zone}-signing`, targetKeyId: key.keyId },
      { parent: this },
    );
    return key;
  }

  private createMacKey(name: string, args: ZoneKeysArgs, account: pulumi.Output<string>) {
    const key = new aws.kms.Key(
      `${name}-email-mac`,
      {
        description: `Serenya ${args.zone}: keys the email index (HMAC-SHA256)`,
        customerMasterKeySpec: 'HMAC_256',
        keyUsage: 'GENERATE_VERIFY_MAC',
        deletionWindowInDays: args.deletionWindowInDays ?? 30,
        policy: this.policy(account, args.region, args.macUsers, ['kms:GenerateMac', 'kms:DescribeKey'], {
          administrators: args.administrators,
        }),
        tags: classified('pii'),
      },
      { parent: this },
    );
    new aws.kms.Alias(
      `${name}-email-mac-alias`,
      { name: `alias/serenya-${args.zone}-email-mac`, targetKeyId: key.keyId },
      { parent: this },
    );
    return key;
  }
}
