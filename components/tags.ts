/**
 * What a resource may hold, for reviewers and for the policy pack: `phi-transient` (uploads and
 * results, hours long), `pii` (encrypted personal fields), `audit` (PHI-free audit events),
 * `none` (infrastructure that holds no user data).
 */
export type DataClassification = 'phi-transient' | 'pii' | 'audit' | 'none';

export const classificationTag = 'data-classification';

export const classified = (classification: DataClassification, tags: Record<string, string> = {}) => ({
  ...tags,
  [classificationTag]: classification,
});
