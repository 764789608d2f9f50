// @vitest-environment jsdom
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The compliance diagrams render: every Mermaid block of `compliance/*.md` parses with Mermaid's
 * own parser (the one code hosts run), in a DOM stand-in. A broken block would show as raw text.
 */
// Under jsdom, module URLs are not file URLs: the suite runs from the repository root.
const dir = resolve('compliance');
const blocks = readdirSync(dir)
  .filter((f) => f.endsWith('.md'))
  .flatMap((f) =>
    [...readFileSync(join(dir, f), 'utf8').matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map(
      (m, i) => [`${f} #${i + 1}`, m[1]!] as const,
    ),
  );

describe('the compliance diagrams', () => {
  it('are there: one per zone and the overview', () => {
    expect(blocks.map(([name]) => name.split(' ')[0]).sort()).toEqual([
      'README.md',
      'dev.md',
      'prod-eu.md',
      'prod-us.md',
    ]);
  });

  it.each(blocks)('%s parses as Mermaid', async (_, source) => {
    const { default: mermaid } = await import('mermaid');
    await expect(mermaid.parse(source)).resolves.toMatchObject({ diagramType: 'flowchart-v2' });
  });

  it('would refuse a broken block (the parser is really running)', async () => {
    const { default: mermaid } = await import('mermaid');
    await expect(mermaid.parse('flowchart LR\n  a -->|upload (presigned)| b')).rejects.toThrow();
  });
});
