import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { tempBucketLayout } from '../contract';
import type { Statement } from './iam-statement';
import { SecureBucket } from './secure-bucket';
import { transformed, type Transform } from './transform';

export interface TempBucketArgs {
  /** KMS key for SSE-KMS. */
  kmsKeyArn: pulumi.Input<string>;
  /** Days an object under `jobs/` lives at most; S3 lifecycle counts in whole days. @default 1 */
  expireAfterDays?: number;
  /** Let `pulumi destroy` delete a bucket with objects in it; never in production. @default false */
  forceDestroy?: boolean;
  /** Changes to the resources this component makes. @default none */
  transform?: { bucket?: Transform<aws.s3.BucketArgs>; lifecycle?: Transform<aws.s3.BucketLifecycleConfigurationArgs> };
}

/**
 * Uploads and results, hours long: `jobs/<userId>/<jobId>/input` and `…/result.json`. Objects
 * expire after a day and unfinished uploads are aborted after a day, as a backstop: the worker
 * deletes inputs as it finishes and the app deletes results on cleanup. Versioning stays off so a
 * delete really deletes.
 */
export class TempBucket extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  private readonly name: string;

  constructor(name: string, args: TempBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:storage:TempBucket', name, {}, opts);
    this.name = name;
    this.bucket = new SecureBucket(
      name,
      {
        kmsKeyArn: args.kmsKeyArn,
        classification: 'phi-transient',
        forceDestroy: args.forceDestroy,
        transform: { bucket: args.transform?.bucket },
      },
      { parent: this },
    ).bucket;
    this.createLifecycle(name, args);
    this.registerOutputs({ bucketName: this.bucket.bucket });
  }

  /** Reading, writing and deleting job objects under `jobs/`, and 404 (not 403) for a missing one. */
  grantJobObjects(): Statement[] {
    return [
      // S3 answers a GetObject of a missing key with 404 only to a caller that may list the bucket,
      // and evaluates that permission without a prefix: a prefix condition here would turn every
      // expired result into a 403. Keys hold ids only, never content.
      { Sid: 'MissingJobObjectsAre404', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: this.bucket.arn },
      {
        Sid: 'JobObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: pulumi.interpolate`${this.bucket.arn}/${tempBucketLayout.jobsPrefix}*`,
      },
    ];
  }

  private createLifecycle(name: string, args: TempBucketArgs) {
    const days = args.expireAfterDays ?? 1;
    const lifecycle: aws.s3.BucketLifecycleConfigurationArgs = {
      bucket: this.bucket.id,
      rules: [
        { id: 'expire-jobs', status: 'Enabled', filter: { prefix: tempBucketLayout.jobsPrefix }, expiration: { days } },
        {
          id: 'abort-incomplete-uploads',
          status: 'Enabled',
          filter: {},
          abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        },
      ],
    };
    return new aws.s3.BucketLifecycleConfiguration(
      ...transformed(args.transform?.lifecycle, `${name}-lifecycle`, lifecycle, { parent: this }),
    );
  }

  /** Sends `ObjectCreated` on `jobs/*\/input` to the worker's `live` alias. */
  notifyOnUpload(worker: aws.lambda.Alias) {
    const permission = new aws.lambda.Permission(
      `${this.name}-invokes-worker`,
      {
        action: 'lambda:InvokeFunction',
        function: worker.functionName,
        qualifier: worker.name,
        principal: 's3.amazonaws.com',
        sourceArn: this.bucket.arn,
        sourceAccount: aws.getCallerIdentityOutput({}, { parent: this }).accountId,
      },
      { parent: this },
    );
    return new aws.s3.BucketNotification(
      `${this.name}-uploads`,
      {
        bucket: this.bucket.id,
        lambdaFunctions: [
          {
            lambdaFunctionArn: worker.arn,
            events: ['s3:ObjectCreated:*'],
            filterPrefix: tempBucketLayout.jobsPrefix,
            filterSuffix: tempBucketLayout.inputSuffix,
          },
        ],
      },
      { parent: this, dependsOn: [permission] },
    );
  }
}
