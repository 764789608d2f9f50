import type { Statement } from './iam-statement';

/**
 * Reading one Secrets Manager secret: the secret by its full ARN (IAM matches the `-XXXXXX` suffix)
 * and, when it is encrypted with a customer managed key, that key for `kms:Decrypt` through Secrets
 * Manager in the secret's own region only. Without the key grant the read fails with AccessDenied.
 */
export function secretReadGrants(sid: string, secretArn: string | undefined, keyArn?: string): Statement[] {
  if (!secretArn) return [];
  return [
    { Sid: sid, Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: secretArn },
    ...(keyArn
      ? [
          {
            Sid: `${sid}Decrypt`,
            Effect: 'Allow' as const,
            Action: ['kms:Decrypt'],
            Resource: keyArn,
            Condition: {
              StringEquals: { 'kms:ViaService': `secretsmanager.${secretArn.split(':')[3]}.amazonaws.com` },
            },
          },
        ]
      : []),
  ];
}
