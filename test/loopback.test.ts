import { readdirSync, readFileSync, readlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../local/free-port';
import { startPlatform } from '../local/platform';

/**
 * Nothing the offline platform (or this test run) starts listens beyond loopback: every listening
 * TCP socket of the test run's process tree — this worker, the run's DynamoDB Local and s3rver, and
 * the whole `npm start` platform started here — is bound to 127.0.0.0/8 or ::1. Read from the
 * kernel (/proc), not from what the code says it asked for.
 */

const readOr = (path: string, fallback = '') => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
};

/** Every process below `root`, and root itself. */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    // `pid (comm) state ppid …`: comm may hold spaces, so read after its closing parenthesis.
    const stat = readOr(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(Number(entry), ppid);
  }
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) if (tree.has(ppid) && !tree.has(pid)) (tree.add(pid), (grew = true));
  }
  return [...tree];
}

function socketInodes(pids: number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode) inodes.add(inode);
      } catch {
        // The descriptor closed while we read.
      }
    }
  }
  return inodes;
}

/** Listening sockets with those inodes: [address as the kernel writes it, port]. */
function listeners(inodes: Set<string>) {
  const found: Array<{ family: 'tcp' | 'tcp6'; address: string; port: number }> = [];
  for (const family of ['tcp', 'tcp6'] as const) {
    for (const line of readOr(`/proc/net/${family}`).split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      const [address, port] = f[1]!.split(':');
      found.push({ family, address: address!, port: Number.parseInt(port!, 16) });
    }
  }
  return found;
}

/** 127.0.0.0/8, ::1 or ::ffff:127.x.x.x, as /proc writes them (32-bit words in little-endian hex). */
const isLoopback = ({ family, address }: { family: string; address: string }) =>
  family === 'tcp' ? /^[0-9A-F]{6}7F$/.test(address) : address === '00000000000000000000000001000000' || /^0000000000000000FFFF0000[0-9A-F]{6}7F$/.test(address);

describe('the offline platform', () => {
  let platform: Awaited<ReturnType<typeof startPlatform>>;
  const keysDir = mkdtempSync(join(tmpdir(), 'serenya-loopback-'));
  beforeAll(async () => {
    platform = await startPlatform({ port: await freePort(), keysDir, logLevel: 'SILENT' });
  }, 60_000);
  afterAll(async () => {
    await platform?.stop();
    rmSync(keysDir, { recursive: true, force: true });
  });

  it('serves the API reference at /docs with every asset from this machine', async () => {
    const html = await (await fetch(`${platform.url}/docs`)).text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      expect(ref, 'no CDN: every asset is served here').toMatch(/^\/docs\//);
      const res = await fetch(`${platform.url}${ref}`);
      expect(res.status, ref).toBe(200);
      expect((await res.arrayBuffer()).byteLength, ref).toBeGreaterThan(100);
    }
    const init = await (await fetch(`${platform.url}/docs/init.js`)).text();
    expect(init).toContain('url: "/api/v1/openapi.json"');
    expect(init).toContain('validatorUrl: null');
    expect((await fetch(`${platform.url}/api/v1/openapi.json`)).status).toBe(200);
  });

  it('listens on loopback only: every listening socket of the run, read from the kernel', () => {
    const sockets = listeners(socketInodes(processTree(process.ppid)));
    // The API, DynamoDB Local (JVM), s3rver, the Bedrock and Play stand-ins — and the run's own.
    const ports = new Set(sockets.map((s) => s.port));
    for (const url of [platform.url, ...Object.values(platform.endpoints)]) expect(ports, url).toContain(Number(new URL(url).port));
    expect(sockets.filter((s) => !isLoopback(s))).toEqual([]);
  });
});
