/**
 * The parts of the AWS Encryption SDK the runtime uses, in one module that is only ever imported
 * dynamically: it and its dependencies load with the first request that seals or opens personal
 * data, not at every cold start. (Named here, statically: a dynamic import of the SDK's index
 * loses the names it re-exports from CommonJS packages once bundled.)
 */
export {
  AlgorithmSuiteIdentifier,
  AwsKmsMrkAwareSymmetricKeyringNode,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  NodeCachingMaterialsManager,
} from '@aws-crypto/client-node';
