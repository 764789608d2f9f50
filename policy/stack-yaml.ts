import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseStackConfig, type StackConfig } from '../components/stack-config';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The stacks this project deploys, one per data-residency zone, each a `Pulumi.<stack>.yaml`. */
export const stacks = ['dev', 'prod-eu', 'prod-us'] as const;
export type StackName = (typeof stacks)[number];

/** The `config:` of `Pulumi.<stack>.yaml`, as Pulumi hands it to a program (objects as JSON). */
export function stackYamlConfig(stack: string): Record<string, string> {
  const file = parse(readFileSync(`${root}/Pulumi.${stack}.yaml`, 'utf8')) as { config: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(file.config).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
}

/** The validated zone configuration a stack file declares (`edit` changes it first, as tests do). */
export function stackFileConfig(
  stack: string,
  edit: (config: Record<string, string>) => Record<string, string> = (c) => c,
): StackConfig {
  const prefix = 'serenya:';
  const raw = Object.fromEntries(
    Object.entries(edit(stackYamlConfig(stack)))
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => {
        try {
          return [key.slice(prefix.length), JSON.parse(value)];
        } catch {
          return [key.slice(prefix.length), value];
        }
      }),
  );
  return parseStackConfig(raw);
}
