import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { auditBucketLayout } from '../contract';
import type { Statement } from './iam-statement';
import { SecureBucket } from './secure-bucket';
import type { Transform } from './transform';

export interface AuditBucketArgs {
  /** KMS key for SSE-KMS. */
  kmsKeyArn: pulumi.Input<string>;
  /** Days before events move to Infrequent Access. @default 90 */
  infrequentAccessAfterDays?: number;
  /** Days before events move to Glacier. @default 365 */
  glacierAfterDays?: number;
  /** Days events are kept: seven years, as HIPAA documentation retention asks. @default 2557 */
  retainDays?: number;
  /**
   * Object Lock's mode for every event version, locked for `retainDays`: `COMPLIANCE` (nobody, the
   * root user included, deletes or shortens it) or `GOVERNANCE` (a principal with
   * `s3:BypassGovernanceRetention` may, e.g. to empty a dev stack's bucket). @default COMPLIANCE
   */
  retentionMode?: 'COMPLIANCE' | 'GOVERNANCE';
  /** Changes to the bucket this component makes. @default none */
  transform?: { bucket?: Transform<aws.s3.BucketArgs> };
}

/**
 * The audit trail (seed 002's events bucket): PHI-free events under `observability/`, versioned
 * so an overwrite never loses one, each version locked for 7 years by S3 Object Lock (no delete, no
 * shortened retention), cooling to Infrequent Access and Glacier, gone after 7 years.
 */
export class AuditBucket extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;

  constructor(name: string, args: AuditBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:storage:AuditBucket', name, {}, opts);
    this.bucket = new SecureBucket(
      name,
      {
        kmsKeyArn: args.kmsKeyArn,
        classification: 'audit',
        objectLock: true,
        transform: { bucket: args.transform?.bucket },
      },
      { parent: this },
    ).bucket;
    const versioning = this.createVersioning(name);
    this.createObjectLock(name, args, versioning);
    this.createLifecycle(name, args, versioning);
    this.registerOutputs({ bucketName: this.bucket.bucket });
  }

  /** Writing audit events under `observability/`; nothing else, not even reading them back. */
  grantWriteEvents(): Statement {
    return {
      Sid: 'WriteAuditEvents',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: pulumi.interpolate`${this.bucket.arn}/${auditBucketLayout.eventsPrefix}*`,
    };
  }

  private createVersioning(name: string) {
    return new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: this.bucket.id, versioningConfiguration: { status: 'Enabled' } },
      { parent: this },
    );
  }

  /** Every new event version is locked as long as it is kept (S3 then needs a checksum on each write; the SDK sends one). */
  private createObjectLock(name: string, args: AuditBucketArgs, versioning: aws.s3.BucketVersioning) {
    return new aws.s3.BucketObjectLockConfiguration(
      `${name}-object-lock`,
      {
        bucket: this.bucket.id,
        objectLockEnabled: 'Enabled',
        rule: { defaultRetention: { mode: args.retentionMode ?? 'COMPLIANCE', days: args.retainDays ?? 2557 } },
      },
      { parent: this, dependsOn: [versioning] },
    );
  }

  private createLifecycle(name: string, args: AuditBucketArgs, versioning: aws.s3.BucketVersioning) {
    const retainDays = args.retainDays ?? 2557;
    return new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: this.bucket.id,
        rules: [
          {
            id: 'retain-seven-years',
            status: 'Enabled',
            filter: { prefix: auditBucketLayout.eventsPrefix },
            transitions: [
              { days: args.infrequentAccessAfterDays ?? 90, storageClass: 'STANDARD_IA' },
              { days: args.glacierAfterDays ?? 365, storageClass: 'GLACIER' },
            ],
            expiration: { days: retainDays },
            noncurrentVersionExpiration: { noncurrentDays: retainDays },
          },
        ],
      },
      { parent: this, dependsOn: [versioning] },
    );
  }
}
