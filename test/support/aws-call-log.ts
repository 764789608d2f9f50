import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FunctionName } from '../../components/function-roles';

/**
 * Every AWS call the runtime makes while the tests run, recorded at the SDK client (and, for KMS,
 * at the offline key services that stand where the KMS client stands in AWS), so that
 * `test/least-privilege/` can evaluate each against the stack's real policies. Calls the tests
 * make themselves (creating tables, scanning) run outside any function and are not recorded.
 */
export interface AwsCall {
  /** The function whose role makes the call in AWS. */
  fn: FunctionName;
  /** The IAM action AWS authorizes. */
  action: string;
  /** What it acts on, named by role in the zone, not by the test's local names. */
  resource:
    | { kind: 'table'; index?: string }
    | { kind: 'bucket'; bucket: 'temp' | 'audit'; key?: string; prefix?: string }
    | { kind: 'key'; key: 'data' | 'signing' | 'mac'; context?: Record<string, string> }
    | { kind: 'model'; modelId: string }
    | { kind: 'secret' }
    | { kind: 'appleSecret' };
}

export const awsCallLog = fileURLToPath(new URL('../../.local/aws-calls/', import.meta.url));

const currentFunction = new AsyncLocalStorage<FunctionName>();

/** Runs `work` as function `fn` would in AWS: the calls it makes are that function's role's. */
export const asFunction = <T>(fn: FunctionName, work: () => T): T => currentFunction.run(fn, work);

export function resetAwsCallLog() {
  rmSync(awsCallLog, { recursive: true, force: true });
  mkdirSync(awsCallLog, { recursive: true });
}

export function recordedAwsCalls(): AwsCall[] {
  let files: string[] = [];
  try {
    files = readdirSync(awsCallLog);
  } catch {
    return [];
  }
  return files.flatMap((f) =>
    readFileSync(`${awsCallLog}${f}`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AwsCall),
  );
}

const seen = new Set<string>();
/** One line per distinct call shape (ids folded), so the log stays small. */
export function record(action: string, resource: AwsCall['resource']) {
  const fn = currentFunction.getStore();
  if (!fn) return;
  recordAs(fn, action, resource);
}

function recordAs(fn: FunctionName, action: string, resource: AwsCall['resource']) {
  const line = JSON.stringify({ fn, action, resource: fold(resource) });
  if (seen.has(line)) return;
  seen.add(line);
  mkdirSync(awsCallLog, { recursive: true });
  appendFileSync(`${awsCallLog}${process.pid}.jsonl`, `${line}\n`);
}

const ids = /[0-9a-f]{8}-[0-9a-f-]{27}|[A-Za-z0-9_-]{20,}/g;
const fold = (resource: AwsCall['resource']): AwsCall['resource'] =>
  resource.kind === 'bucket'
    ? {
        ...resource,
        ...(resource.key && { key: resource.key.replace(ids, 'ID') }),
        ...(resource.prefix && { prefix: resource.prefix.replace(ids, 'ID') }),
      }
    : resource;

/** The local names of one test platform's table and buckets. */
export interface LocalNames {
  table: string;
  tempBucket: string;
  auditBucket: string;
}

type Input = Record<string, any>;
// Any SDK v3 client: its middleware stack is all this needs.
type Middlewared = { middlewareStack: { add(mw: never, options: never): void } };

const dynamoActions: Record<string, (input: Input) => Array<[string, AwsCall['resource']]>> = {
  GetItemCommand: () => [['dynamodb:GetItem', { kind: 'table' }]],
  PutItemCommand: () => [['dynamodb:PutItem', { kind: 'table' }]],
  UpdateItemCommand: () => [['dynamodb:UpdateItem', { kind: 'table' }]],
  DeleteItemCommand: () => [['dynamodb:DeleteItem', { kind: 'table' }]],
  QueryCommand: (i) => [['dynamodb:Query', { kind: 'table', ...(i.IndexName && { index: i.IndexName }) }]],
  ScanCommand: (i) => [['dynamodb:Scan', { kind: 'table', ...(i.IndexName && { index: i.IndexName }) }]],
  BatchWriteItemCommand: () => [['dynamodb:BatchWriteItem', { kind: 'table' }]],
  BatchGetItemCommand: () => [['dynamodb:BatchGetItem', { kind: 'table' }]],
  // A transaction is authorized item by item, each by the action it performs.
  TransactWriteItemsCommand: (i) =>
    (i.TransactItems as Input[]).map((item) => {
      const [kind] = Object.keys(item);
      const action = {
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
      }[kind as 'Put'];
      return [`dynamodb:${action}`, { kind: 'table' }] as [string, AwsCall['resource']];
    }),
  TransactGetItemsCommand: (i) =>
    (i.TransactItems as Input[]).map(() => ['dynamodb:GetItem', { kind: 'table' }] as [string, AwsCall['resource']]),
};

/** Records each command a client sends, mapped to the IAM actions AWS authorizes for it. */
export function recordAwsCalls(client: Middlewared, names: LocalNames) {
  const bucketOf = (name: string) => (name === names.auditBucket ? 'audit' : 'temp');
  const add = client.middlewareStack.add as (mw: unknown, options: { step: 'initialize'; name: string }) => void;
  add.call(
    client.middlewareStack,
    (next: (args: { input: Input }) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input: Input }) => {
        // Only the runtime's calls: a test's own set-up runs outside any function.
        const fn = currentFunction.getStore();
        if (fn)
          for (const [action, resource] of mapCommand(context.commandName ?? '', args.input, bucketOf))
            recordAs(fn, action, resource);
        return next(args);
      },
    { step: 'initialize', name: 'recordAwsCalls' },
  );
}

function mapCommand(
  command: string,
  input: Input,
  bucketOf: (name: string) => 'temp' | 'audit',
): Array<[string, AwsCall['resource']]> {
  const dynamo = dynamoActions[command];
  if (dynamo) return dynamo(input);
  const bucket = input.Bucket ? bucketOf(input.Bucket) : 'temp';
  switch (command) {
    case 'PutObjectCommand':
      return [['s3:PutObject', { kind: 'bucket', bucket, key: input.Key }]];
    case 'GetObjectCommand':
    case 'HeadObjectCommand':
      return [['s3:GetObject', { kind: 'bucket', bucket, key: input.Key }]];
    case 'DeleteObjectCommand':
      return [['s3:DeleteObject', { kind: 'bucket', bucket, key: input.Key }]];
    case 'DeleteObjectsCommand':
      return (input.Delete?.Objects ?? []).map((o: Input) => [
        's3:DeleteObject',
        { kind: 'bucket', bucket, key: o.Key },
      ]);
    case 'ListObjectsV2Command':
      return [['s3:ListBucket', { kind: 'bucket', bucket, prefix: input.Prefix }]];
    case 'ConverseCommand':
    case 'InvokeModelCommand':
      return [['bedrock:InvokeModel', { kind: 'model', modelId: input.modelId }]];
    case 'ConverseStreamCommand':
      return [['bedrock:InvokeModelWithResponseStream', { kind: 'model', modelId: input.modelId }]];
    case 'GetSecretValueCommand':
      return [['secretsmanager:GetSecretValue', { kind: 'secret' }]];
    default:
      throw new Error(
        `recordAwsCalls: no IAM mapping for ${command}; add one so the least-privilege tests can evaluate it`,
      );
  }
}
