import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../handlers/core/errors';
import { answeredErrors } from '../../handlers/web/error-answers';

const root = join(import.meta.dirname, '../../handlers');
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

describe('domain errors', () => {
  it('each DomainError the domain exports has its answer in the one table (web/error-answers.ts)', async () => {
    const unanswered: string[] = [];
    let found = 0;
    for (const file of sources(join(root, 'domain'))) {
      const module = (await import(file)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        if (typeof value !== 'function' || !(value.prototype instanceof DomainError)) continue;
        found++;
        if (!answeredErrors.has(value)) unanswered.push(`${relative(root, file)}: ${name}`);
      }
    }
    expect(found).toBeGreaterThan(15);
    expect(unanswered).toEqual([]);
  });

  it('are plain errors: the ground layer knows no HTTP library', () => {
    expect(readFileSync(join(root, 'core/errors.ts'), 'utf8')).not.toMatch(/from ['"]hono/);
  });
});
