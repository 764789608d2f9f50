import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port';

/**
 * The offline tour (docs/offline-tour.md) run as a reader runs it: `npm start` in a process of
 * its own, then every shell block of the page, as written, in one bash. Only the port and the
 * data directory are swapped, so a developer's own `npm start` is not disturbed. A comment line
 * right under a command (or at its end, after two spaces) is the output the page promises; the
 * run must print those lines, in that order.
 */

const page = readFileSync('docs/offline-tour.md', 'utf8');
const blocks = [...page.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
const [startBlock, ...tourBlocks] = blocks;

/** The outputs the page promises: trailing `  # x` comments, and comment lines right under a command. */
function promisedOutputs(block: string): string[] {
  const promised: string[] = [];
  let previous: 'blank' | 'command' | 'output' | 'comment' = 'blank';
  for (const line of block.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) {
      previous = 'blank';
    } else if (trimmed.startsWith('#')) {
      const isOutput: boolean = previous === 'command' || previous === 'output';
      if (isOutput) promised.push(trimmed.slice(1).trim());
      previous = isOutput ? 'output' : 'comment';
    } else {
      const trailing = /\s{2,}#\s(.+)$/.exec(line);
      if (trailing && !line.trimEnd().endsWith('\\')) promised.push(trailing[1]!.trim());
      previous = 'command';
    }
  }
  return promised;
}

describe('the offline tour', () => {
  let platform: ChildProcess;
  let port: number;
  let dataDir: string;
  let banner = '';

  beforeAll(async () => {
    port = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'serenya-tour-'));
    expect(startBlock?.trim()).toBe('npm start -- --data-dir .local/data');
    platform = spawn('npm', ['start', '--', '--port', String(port), '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${banner}`)), 50_000);
      const read = (chunk: Buffer) => {
        banner += chunk.toString();
        if (banner.includes('Try:')) clearTimeout(timer), resolve();
      };
      platform.stdout!.on('data', read);
      platform.stderr!.on('data', read);
      platform.once('exit', (code) => (clearTimeout(timer), reject(new Error(`npm start exited ${code}:\n${banner}`))));
    });
  }, 60_000);

  afterAll(async () => {
    if (platform?.pid && platform.exitCode === null) {
      const exited = new Promise((resolve) => platform.once('exit', resolve));
      process.kill(-platform.pid, 'SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs every command of the page, and prints what the page says it prints', async () => {
    const script = tourBlocks
      .join('\n')
      .replaceAll('http://127.0.0.1:3000', `http://127.0.0.1:${port}`)
      .replaceAll('.local/data', dataDir);
    const run = spawn('bash', ['-euo', 'pipefail', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    run.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    run.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise((resolve) => run.once('exit', resolve));
    expect(code, `the tour stopped with ${code}:\n${stderr}\n--- output so far:\n${stdout}`).toBe(0);

    const printed = stdout.split('\n').map((l) => l.trim());
    const promised = tourBlocks.flatMap(promisedOutputs);
    expect(promised.length).toBeGreaterThan(15);
    let at = 0;
    for (const line of promised) {
      const found = printed.indexOf(line, at);
      expect(found, `the page promises "${line}" after line ${at} of:\n${printed.join('\n')}`).toBeGreaterThanOrEqual(
        0,
      );
      at = found + 1;
    }
  }, 120_000);
});
