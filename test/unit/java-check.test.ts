import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkJava } from '../../local/stand-ins/dynamodb-local';

/** `npm start` and the tests need a JDK 17+ for DynamoDB Local: what is missing is named, with the fix. */
const dir = mkdtempSync(join(tmpdir(), 'serenya-java-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A `java` that prints `modules` for `--list-modules` (or fails, as Java 8 does: it has no modules). */
function fakeJava(name: string, modules: string[] | 'unrecognized') {
  const file = join(dir, name);
  const body =
    modules === 'unrecognized'
      ? 'echo "Unrecognized option: --list-modules" >&2; exit 1'
      : `printf '%s\\n' ${modules.map((m) => `'${m}'`).join(' ')}`;
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('the JDK DynamoDB Local needs', () => {
  it('accepts a JDK 17 or newer with its compiler', () => {
    expect(() => checkJava(fakeJava('jdk21', ['java.base@21.0.2', 'jdk.compiler@21.0.2']))).not.toThrow();
  });

  it.each([
    [
      'a JRE 17 (no compiler)',
      fakeJava('jre17', ['java.base@17.0.15']),
      "found a Java 17 runtime without the JDK's compiler",
    ],
    ['a JDK 11', fakeJava('jdk11', ['java.base@11.0.2', 'jdk.compiler@11.0.2']), 'found Java 11'],
    ['Java 8', fakeJava('java8', 'unrecognized'), 'found Java older than 9'],
    ['no java', join(dir, 'absent'), 'no "java" on PATH'],
  ])('refuses %s, naming it and what to install', (_, java, found) => {
    expect(() => checkJava(java)).toThrow(`DynamoDB Local needs a JDK 17 or newer (${found}). Install one`);
  });
});
