import { ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../../handlers/core/config';
import { JobFailure, type Job } from '../../handlers/domain/jobs/job';
import { createBedrockClient } from '../../handlers/bedrock/bedrock-client';
import { createBedrockModel } from '../../handlers/bedrock/bedrock-model';
import { startBedrockStandIn } from '../../local/stand-ins/bedrock-stand-in';
import { converseLimits } from '../../local/stand-ins/converse-limits';
import { localCredentials } from '../../local/local-deps';
import { labReport, pdf } from '../../local/fixtures/documents';

const modelId = 'eu.anthropic.claude-sonnet-4-20250514-v1:0';
let standIn: Awaited<ReturnType<typeof startBedrockStandIn>>;
let client: ReturnType<typeof createBedrockClient>;

beforeAll(async () => {
  standIn = await startBedrockStandIn();
  // The worker's own client builder, pointed at the stand-in (one attempt: refusals are final anyway).
  const config = { region: 'eu-central-1', workerTimeoutSeconds: 80 } as AppConfig;
  client = createBedrockClient(config, { endpoint: standIn.endpoint, credentials: localCredentials });
});
afterAll(() => standIn.stop());

const job = (type: Job['type'], contentType: string) =>
  ({ type, contentType, userId: 'u', jobId: 'j' }) as unknown as Job;
/** The runtime's model: `converse-request.ts` builds the request, the SDK sends it to the stand-in. */
const runModel = (type: Job['type'], contentType: string, input: Uint8Array) =>
  createBedrockModel(client, modelId)(job(type, contentType), input);

/** A PNG whose header says `width`×`height`, padded to `bytes` (the stand-in reads the header only). */
function png(width: number, height: number, bytes = 64) {
  const header = Buffer.alloc(24);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'latin1');
  header.writeUInt32BE(width, 16);
  header.writeUInt32BE(height, 20);
  return Buffer.concat([header, Buffer.alloc(bytes - header.length)]);
}

describe("the runtime's Converse requests are within Bedrock's limits", () => {
  // Padded with line ends: the stand-in reads text line by line.
  const padded = (bytes: Buffer) =>
    Buffer.concat([bytes, Buffer.alloc(converseLimits.documentBytes - bytes.length, '\n')]);
  it.each([
    ['a text document of exactly 4.5 MB', 'text/plain', () => padded(Buffer.from(labReport()))],
    ['a PDF of exactly 4.5 MB', 'application/pdf', () => padded(pdf(['Glucose 90 mg/dL (70-99)']))],
    ['an 8000×8000 px PNG of exactly 3.75 MB', 'image/png', () => png(8000, 8000, converseLimits.imageBytes)],
  ])('%s is answered', async (_, contentType, bytes) => {
    const calls = standIn.calls.length;
    await expect(runModel('document', contentType, bytes())).resolves.toMatchObject({ usage: { modelId } });
    expect(standIn.calls.length).toBe(calls + 1);
  });

  it('a chat at the most history the API takes, in any order of roles, is answered', async () => {
    const turn = (role: string) => ({ role, content: 'x'.repeat(4000) });
    const mixed = Array.from({ length: 18 }, (_, i) => turn(i % 3 ? 'user' : 'assistant'));
    const history = [turn('assistant'), turn('assistant'), ...mixed];
    const labResults = Array.from({ length: 200 }, (_, i) => ({ testName: `T${i}`, value: i }));
    const context = { summary: 's'.repeat(4000), labResults };
    const input = Buffer.from(JSON.stringify({ message: 'q'.repeat(4000), context, history }));
    await expect(runModel('chat', 'application/json', input)).resolves.toMatchObject({ usage: { modelId } });
    const sent = JSON.parse(standIn.calls.at(-1)!.body);
    expect(sent.messages[0].role).toBe('user');
  });

  it('a doctor report of the largest health history the API takes is answered', async () => {
    const healthData = {
      labResults: Array.from({ length: 1000 }, (_, i) => ({ testName: `Test ${i}`, value: i, unit: 'mg/dL' })),
      vitals: Array.from({ length: 500 }, (_, i) => ({ type: 'heart rate', value: 60 + (i % 40), unit: 'bpm' })),
      notes: 'n'.repeat(4000),
    };
    const input = Buffer.from(JSON.stringify({ healthData }));
    const answer = runModel('doctor_report', 'application/json', input);
    await expect(answer).resolves.toMatchObject({ usage: { modelId } });
  });
});

describe('the Bedrock stand-in refuses what Bedrock refuses, with ValidationException', () => {
  const text = { text: 'Summarise the attached document.' };
  const document = (bytes: Uint8Array, name = 'document') => ({
    document: { format: 'txt' as const, name, source: { bytes } },
  });
  const image = (bytes: Uint8Array) => ({ image: { format: 'png' as const, source: { bytes } } });
  const refusal = async (input: Partial<ConverseCommandInput>) => {
    const calls = standIn.calls.length;
    const command = new ConverseCommand({ modelId, ...input } as ConverseCommandInput);
    const err = await client.send(command).catch((e: Error) => e);
    expect(standIn.calls.length, 'a refused request is no model call').toBe(calls);
    expect(err).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    return (err as Error).message;
  };
  const user = (...content: object[]) => ({ role: 'user' as const, content: content as never });
  const assistant = (t: string) => ({ role: 'assistant' as const, content: [{ text: t }] });
  const small = Buffer.from('Glucose 90 mg/dL');

  it('a document over 4.5 MB, or a sixth document', async () => {
    const big = Buffer.alloc(converseLimits.documentBytes + 1, 0x61);
    expect(await refusal({ messages: [user(document(big), text)] })).toContain('must be no more than 4.5 MB');
    const six = Array.from({ length: 6 }, (_, i) => document(small, `document ${i}`));
    expect(await refusal({ messages: [user(...six, text)] })).toContain('up to 5 documents');
  });

  it.each([
    ['two spaces in a row', 'lab  report'],
    ['a dot and an underscore', 'lab_report.pdf'],
    ['more than 200 characters', 'a'.repeat(201)],
  ])('a document name with %s', async (_, name) => {
    expect(await refusal({ messages: [user(document(small, name), text)] })).toContain('.document.name is invalid');
  });

  it('a document without a text block beside it', async () => {
    const alone = await refusal({ messages: [user(document(small))] });
    expect(alone).toContain('must also include a ContentBlock with a text field');
  });

  it('an image over 3.75 MB or over 8000 px a side, or not an image', async () => {
    const heavy = png(100, 100, converseLimits.imageBytes + 1);
    expect(await refusal({ messages: [user(image(heavy), text)] })).toContain('must be no more than 3.75 MB');
    expect(await refusal({ messages: [user(image(png(8001, 10)), text)] })).toContain('no more than 8000 px');
    expect(await refusal({ messages: [user(image(png(10, 8001)), text)] })).toContain('no more than 8000 px');
    expect(await refusal({ messages: [user(image(Buffer.from('not a png')), text)] })).toContain('Could not process');
  });

  it('a conversation that does not start with the user, or does not alternate', async () => {
    const fromAssistant = await refusal({ messages: [assistant('Hello'), user(text)] });
    expect(fromAssistant).toMatch(/^A conversation must start with a user message/);
    const twoUsers = await refusal({ messages: [user(text), user(text)] });
    expect(twoUsers).toMatch(/^A conversation must alternate between user and assistant/);
    const twoAssistants = await refusal({ messages: [user(text), assistant('a'), assistant('b'), user(text)] });
    expect(twoAssistants).toMatch(/must alternate/);
    expect(await refusal({ messages: [] })).toMatch(/must start with a user message/);
  });

  it('a document in an assistant message, a blank text block, a forced tool that is not offered', async () => {
    const asAssistant = { role: 'assistant' as const, content: [document(small), text] as never };
    expect(await refusal({ messages: [user(text), asAssistant, user(text)] })).toContain('only a user message');
    expect(await refusal({ messages: [user({ text: '  ' })] })).toContain('is blank');
    const tools = [{ toolSpec: { name: 'a', inputSchema: { json: {} } } }];
    const toolConfig = { tools, toolChoice: { tool: { name: 'b' } } };
    expect(await refusal({ messages: [user(text)], toolConfig: toolConfig as never })).toContain("tool choice 'b'");
  });

  it('an image the worker let through over 8000 px fails its job as INVALID_DOCUMENT, not retryable', async () => {
    const failure = await runModel('document', 'image/png', png(9000, 100)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure).toMatchObject({ code: 'INVALID_DOCUMENT', retryable: false });
  });
});
