/** The geography of an inference profile id (`eu.anthropic.…` → `eu`), none for a bare model id. */
export const profileGeography = (modelId: string) => /^([a-z-]+)\.[a-z0-9-]+\./.exec(modelId)?.[1];

/**
 * The ARNs a zone's worker may invoke: its own inference profile and the foundation model in each
 * region that profile routes to, as Bedrock describes the profile at deploy time (AWS may add
 * destination regions; a grant listing yesterday's regions would deny requests routed to a new
 * one). For a bare model id, the model in the home region alone. The grant never reaches outside
 * the zone's allowed regions: a profile that routes there is reported as a `problem` (which stops
 * the preview) and those regions are left out of the grant, so residency fails closed.
 */
export function bedrockArns(args: {
  modelId: string;
  homeRegion: string;
  allowedRegions: string[];
  /** The profile's ARN and its models' ARNs, from `aws.bedrock.getInferenceProfile`. */
  profile?: { inferenceProfileArn: string; modelArns: string[] };
}): { arns: string[]; problem?: string } {
  const { modelId, homeRegion, allowedRegions, profile } = args;
  if (!profileGeography(modelId)) return { arns: [`arn:aws:bedrock:${homeRegion}::foundation-model/${modelId}`] };
  if (!profile || profile.modelArns.length === 0)
    return {
      arns: [],
      problem: `Bedrock describes no models for the inference profile ${modelId} in ${homeRegion}; check the model id`,
    };
  const inZone = profile.modelArns.filter((arn) => allowedRegions.includes(arn.split(':')[3] ?? ''));
  const outside = [
    ...new Set(profile.modelArns.filter((arn) => !inZone.includes(arn)).map((arn) => arn.split(':')[3])),
  ];
  return {
    arns: [profile.inferenceProfileArn, ...inZone],
    problem: outside.length
      ? `The inference profile ${modelId} now routes to ${outside.join(', ')}, outside this zone's allowedRegions (${allowedRegions.join(', ')}). ` +
        'Decide with compliance whether the zone may use those regions (then add them to serenya:allowedRegions) or choose another model.'
      : undefined,
  };
}

/** The regions a grant's ARNs name: where the zone's documents may be processed. */
export const arnRegions = (arns: string[]) => [...new Set(arns.map((arn) => arn.split(':')[3] ?? ''))];
