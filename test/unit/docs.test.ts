import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allErrorCodes } from '../../handlers/core/errors';

/**
 * The docs as a reader meets them in any clone: a README that fits on a screen or two, every link
 * that points into the repository lands on a file that exists, nothing links outside the
 * repository, and the app developers' table of error codes is the API's own list.
 */

const root = resolve('.');
const pages = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync('docs', { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

/** `[text](target)` links, without images' and code spans' lookalikes. */
const links = (markdown: string) =>
  [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);

describe('the docs', () => {
  it('keep the README to a screen or two', () => {
    expect(readFileSync('README.md', 'utf8').split('\n').length).toBeLessThanOrEqual(150);
  });

  it.each(pages)('%s links only to files of this repository that exist', (page) => {
    const broken = links(readFileSync(page, 'utf8'))
      .filter((target) => !/^(https?:|mailto:|#)/.test(target))
      .map((target) => resolve(dirname(page), decodeURI(target.split('#')[0]!)))
      .filter((path) => relative(root, path).startsWith('..') || !existsSync(path))
      .map((path) => relative(root, path));
    expect(broken).toEqual([]);
  });

  it('list every error code the API answers, once', () => {
    const table = readFileSync('docs/api.md', 'utf8').split('## Error codes')[1]!;
    const listed = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual(allErrorCodes);
  });
});
