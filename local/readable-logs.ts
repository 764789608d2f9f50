/** Keys every line carries: shown once in `npm start`'s banner, not on each line. */
const constant = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'zone']);

/**
 * One of the runtime's JSON log lines as a person reads it in a terminal:
 * `05:58:43 INFO  request GET /health 200 36ms  requestId=63dd…`. A line that is not one of them
 * (a stand-in's own output) is returned as it is.
 */
export function readableLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry.level !== 'string' || typeof entry.message !== 'string') return line;
  const time = typeof entry.timestamp === 'string' ? entry.timestamp.slice(11, 19) : '';
  const { method, route, status, durationMs, ...rest } = entry;
  const request = method !== undefined ? ` ${method} ${route} ${status} ${durationMs}ms` : '';
  const extra = Object.entries(rest)
    .filter(([key]) => !constant.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time} ${entry.level.padEnd(5)} ${entry.message}${request}${extra ? `  ${extra}` : ''}`;
}

/** Rewrites this process's JSON log lines on stdout as readable ones (`npm start` only). */
export function printReadableLogs(stream: NodeJS.WriteStream = process.stdout) {
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...args: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const readable = text
      .split('\n')
      .map((line) => readableLogLine(line))
      .join('\n');
    return (write as (c: string, ...a: unknown[]) => boolean)(readable, ...args);
  }) as typeof stream.write;
}
