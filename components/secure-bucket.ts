import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { classified, type DataClassification } from './tags';
import { transformed, type Transform } from './transform';

export interface SecureBucketArgs {
  /** KMS key for default encryption (SSE-KMS with a bucket key). */
  kmsKeyArn: pulumi.Input<string>;
  /** What the bucket holds. */
  classification: DataClassification;
  /** Let `pulumi destroy` delete a bucket that still holds objects; never in production. @default false */
  forceDestroy?: boolean;
  /** Object Lock, which S3 enables only when it creates the bucket (and which needs versioning). @default false */
  objectLock?: boolean;
  /** Changes to the bucket this component makes. @default none */
  transform?: { bucket?: Transform<aws.s3.BucketArgs> };
}

/**
 * The baseline every Serenya bucket shares, so no bucket can miss it: SSE-KMS with a bucket
 * key, all public access blocked, objects owned by the bucket owner, a policy that refuses
 * anything but TLS and any write encrypted otherwise than with the zone's key. The temp and
 * audit buckets add their lifecycle on top.
 */
export class SecureBucket extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;

  constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:storage:SecureBucket', name, {}, opts);
    this.bucket = this.createBucket(name, args);
    const guards = [
      this.createEncryption(name, args),
      this.createPublicAccessBlock(name),
      this.createOwnershipControls(name),
    ];
    this.createTlsOnlyPolicy(name, args, guards);
    this.registerOutputs({ bucketName: this.bucket.bucket, bucketArn: this.bucket.arn });
  }

  private createBucket(name: string, args: SecureBucketArgs) {
    return new aws.s3.Bucket(
      ...transformed(
        args.transform?.bucket,
        name,
        {
          bucketPrefix: `${name}-`,
          forceDestroy: args.forceDestroy ?? false,
          ...(args.objectLock && { objectLockEnabled: true }),
          tags: classified(args.classification),
        },
        { parent: this },
      ),
    );
  }

  private createEncryption(name: string, args: SecureBucketArgs) {
    return new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: this.bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: args.kmsKeyArn },
            bucketKeyEnabled: true,
          },
        ],
      },
      { parent: this },
    );
  }

  private createPublicAccessBlock(name: string) {
    return new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access-block`,
      {
        bucket: this.bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { parent: this },
    );
  }

  private createOwnershipControls(name: string) {
    return new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: this.bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } },
      { parent: this },
    );
  }

  private createTlsOnlyPolicy(name: string, args: SecureBucketArgs, dependsOn: pulumi.Resource[]) {
    const objects = pulumi.interpolate`${this.bucket.arn}/*`;
    // A write that names no encryption gets the default, the zone's key; one that names any other
    // (SSE-S3, DSSE, another key, or aws:kms with no key id, which S3 reads as aws/s3) is refused.
    const denyWrites = (Sid: string, Condition: object) => ({
      Sid,
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: objects,
      Condition,
    });
    return new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket: this.bucket.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
            {
              Sid: 'DenyOldTls',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`],
              Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } },
            },
            // A negated operator (…IfExists too) is true for a missing header: each deny needs the header present.
            denyWrites('DenyOtherEncryption', {
              StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' },
              Null: { 's3:x-amz-server-side-encryption': 'false' },
            }),
            denyWrites('DenyOtherKeys', {
              StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': args.kmsKeyArn },
              Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
            }),
            denyWrites('DenyKmsWithoutTheZoneKey', {
              Null: {
                's3:x-amz-server-side-encryption': 'false',
                's3:x-amz-server-side-encryption-aws-kms-key-id': 'true',
              },
            }),
          ],
        }),
      },
      // S3 rejects a bucket policy written while the public access block is being set.
      { parent: this, dependsOn },
    );
  }
}
