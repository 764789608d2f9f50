/**
 * The ARNs a zone's worker may invoke: its own inference profile in the home region and the
 * foundation model in each region that profile routes to; for a bare model id, the model in the
 * home region alone. All of them inside the zone: the stack config refuses anything else.
 */
export function bedrockArns(args: { modelId: string; homeRegion: string; inferenceRegions: string[]; account: string }): string[] {
  const { modelId, homeRegion, inferenceRegions, account } = args;
  const geography = /^([a-z-]+)\.[a-z0-9-]+\./.exec(modelId)?.[1];
  if (!geography) return [`arn:aws:bedrock:${homeRegion}::foundation-model/${modelId}`];
  const baseModel = modelId.slice(geography.length + 1);
  return [
    `arn:aws:bedrock:${homeRegion}:${account}:inference-profile/${modelId}`,
    ...inferenceRegions.map((region) => `arn:aws:bedrock:${region}::foundation-model/${baseModel}`),
  ];
}
