import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';

/**
 * The project type-checks (`npm run typecheck`: TypeScript 7's `tsc --noEmit`). The environment
 * contract is a type, so a stack that leaves out a variable fails here. A test rather than a step
 * before vitest, so the compiler runs beside the other files instead of before all of them.
 */
it('type-checks with no error', async () => {
  // One thread: the other files need the cores, and tsc's threads cost more CPU than they save here.
  const check = spawn('npm', ['run', '-s', 'typecheck', '--', '--singleThreaded'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  check.stdout.on('data', (d) => (output += d));
  check.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => check.on('close', resolve));
  expect(output.trim(), 'tsc reports').toBe('');
  expect(code).toBe(0);
}, 120_000);
