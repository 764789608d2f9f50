import { readdirSync, readFileSync, readlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { request as http1Request } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port';
import { foreignHostRefusal } from '../../local/listen';
import { localCredentials } from '../../local/local-deps';
import { startOfflinePlatform } from '../../local/offline-platform';
import { runDynamoDb } from '../support/run-dynamodb';

/**
 * Nothing the offline platform (or this test run) starts listens beyond loopback: every listening
 * TCP socket of the test run's process tree — this worker, the run's DynamoDB Local and s3rver, and
 * the whole `npm start` platform started here (on the run's DynamoDB Local, as `--dynamodb` has it;
 * the tour's `npm start` launches its own) — is bound to 127.0.0.0/8 or ::1. Read from the
 * kernel (/proc), not from what the code says it asked for. Nor does a web page reach it through
 * the developer's browser: our servers answer only requests addressed to a loopback name (DNS
 * rebinding), and `/docs` cannot be framed nor keeps a token.
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
    for (const [pid, ppid] of parents) if (tree.has(ppid) && !tree.has(pid)) tree.add(pid), (grew = true);
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
  family === 'tcp'
    ? /^[0-9A-F]{6}7F$/.test(address)
    : address === '00000000000000000000000001000000' || /^0000000000000000FFFF0000[0-9A-F]{6}7F$/.test(address);

/** One request to `url` addressed to `host` (a DNS-rebinding page's name, or loopback's): its status and body. */
function requestWithHost(url: string, host: string, path = '/'): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http1Request({ hostname, port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject).end();
  });
}

/** The same over HTTP/2 (cleartext, prior knowledge), where the name travels as `:authority`. */
function http2RequestWithAuthority(url: string, authority: string, path = '/') {
  const session = http2Connect(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':authority': authority });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.setEncoding('utf8').on('data', (d: string) => (body += d));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
    stream.end();
  }).finally(() => session.close());
}

describe('the offline platform', () => {
  let platform: Awaited<ReturnType<typeof startOfflinePlatform>>;
  const keysDir = mkdtempSync(join(tmpdir(), 'serenya-loopback-'));
  beforeAll(async () => {
    // On the run's DynamoDB Local (`npm start -- --dynamodb`), itself in this process tree: one JVM less to start.
    const dynamodb = await runDynamoDb();
    platform = await startOfflinePlatform({ port: await freePort(), keysDir, dynamodb, logLevel: 'SILENT' });
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
    expect(await (await fetch(`${platform.url}/docs/`)).text(), '/docs/ is the same page').toBe(html);
    const init = await (await fetch(`${platform.url}/docs/init.js`)).text();
    expect(init).toContain('url: "/api/v1/openapi.json"');
    expect(init).toContain('validatorUrl: null');
    expect((await fetch(`${platform.url}/api/v1/openapi.json`)).status).toBe(200);
  });

  it("serves /docs so that no other page can frame it and Authorize's token is kept in no storage", async () => {
    for (const path of ['/docs', '/docs/init.js', '/docs/swagger-ui-bundle.js']) {
      const res = await fetch(`${platform.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, `${path}: no inline or evaluated script`).not.toMatch(/script-src[^;]*'unsafe-/);
      expect(csp, `${path}: calls only this origin`).toContain("connect-src 'self'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    const init = await (await fetch(`${platform.url}/docs/init.js`)).text();
    expect(init).toContain('persistAuthorization: false');
  });

  it('answers only requests addressed to loopback: a DNS-rebinding page gets 403 from our servers', async () => {
    const { appleId, s3, bedrock } = platform.endpoints;
    const play = platform.config.googlePlay?.developerApiUrl;
    expect(play, 'the Play stand-in runs').toMatch(/^http:\/\/127\.0\.0\.1:/);
    const port = (url: string) => new URL(url).port;
    const foreign = (url: string) => [
      `rebind.attacker.example:${port(url)}`,
      'rebind.attacker.example',
      `127.0.0.1.attacker.example:${port(url)}`,
    ];
    const loopback = (url: string) => [`127.0.0.1:${port(url)}`, `localhost:${port(url)}`, `[::1]:${port(url)}`];

    for (const host of foreign(platform.url)) {
      for (const path of ['/health', '/docs', '/api/v1/openapi.json']) {
        const res = await requestWithHost(platform.url, host, path);
        expect(res.status, `${host}${path}`).toBe(403);
        expect(JSON.parse(res.body)).toEqual({
          error: {
            code: 'HOST_NOT_ALLOWED',
            message: foreignHostRefusal,
            retryable: false,
            requestId: expect.any(String),
          },
        });
      }
    }
    for (const host of loopback(platform.url)) {
      expect((await requestWithHost(platform.url, host, '/health')).status, host).toBe(200);
    }

    // Our stand-ins (HTTP/1) and s3rver: refused before any handler; loopback names reach it.
    const refused = { status: 403, body: foreignHostRefusal };
    for (const url of [appleId, play!, s3]) {
      for (const host of foreign(url)) {
        expect(await requestWithHost(url, host), `${url} as ${host}`).toEqual(refused);
      }
      for (const host of loopback(url)) {
        expect((await requestWithHost(url, host)).body, `${url} as ${host}`).not.toBe(foreignHostRefusal);
      }
    }
    // The Bedrock stand-in speaks HTTP/2, where the name is the :authority pseudo-header.
    for (const authority of foreign(bedrock)) {
      expect(await http2RequestWithAuthority(bedrock, authority), authority).toEqual(refused);
    }
    for (const authority of loopback(bedrock)) {
      expect((await http2RequestWithAuthority(bedrock, authority)).status, `answered as ${authority}`).toBe(404);
    }
  });

  it('on a DynamoDB Local of yours, with new keys (a first start, --fresh) starts from an empty users table', async () => {
    const dynamoClient = new DynamoDBClient({
      endpoint: platform.endpoints.dynamodb,
      region: platform.config.region,
      credentials: localCredentials,
    });
    const TableName = platform.config.usersTable;
    await dynamoClient.send(new PutItemCommand({ TableName, Item: { PK: { S: 'USER#old' }, SK: { S: 'PROFILE' } } }));
    const freshKeys = mkdtempSync(join(tmpdir(), 'serenya-fresh-'));
    const fresh = await startOfflinePlatform({
      port: await freePort(),
      keysDir: freshKeys,
      dynamodb: platform.endpoints.dynamodb,
      logLevel: 'SILENT',
    });
    try {
      expect((await dynamoClient.send(new ScanCommand({ TableName }))).Items).toEqual([]);
    } finally {
      await fresh.stop();
      rmSync(freshKeys, { recursive: true, force: true });
    }
  });

  it('listens on loopback only: every listening socket of the run, read from the kernel', () => {
    const sockets = listeners(socketInodes(processTree(process.pid)));
    // The API, the run's DynamoDB Local (JVM) it uses, s3rver, the Bedrock and Play stand-ins — and the run's own.
    const ports = new Set(sockets.map((s) => s.port));
    for (const url of [platform.url, ...Object.values(platform.endpoints)])
      expect(ports, url).toContain(Number(new URL(url).port));
    expect(sockets.filter((s) => !isLoopback(s))).toEqual([]);
  });
});
