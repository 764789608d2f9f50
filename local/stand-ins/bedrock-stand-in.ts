import { createServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { randomUUID } from 'node:crypto';
import { deltasOf, streamAnswer, type StreamedAnswer } from './converse-stream';
import { validateConverseRequest } from './converse-limits';
import { listenOnLoopback } from '../listen';

/** Fault switches, for tests and for trying the app's error paths offline. */
export interface StandInFaults {
  /** Share of calls answered 429 ThrottlingException (0..1). */
  throttleRate?: number;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
  /** Answer with a tool input that does not match the tool's schema; a stream, with a broken frame. */
  malformed?: boolean;
  /** Milliseconds per piece of the answer: between a stream's deltas, and all of them before a Converse answer. */
  deltaDelayMs?: number;
  /** ConverseStream: a throttlingException after this many deltas (a throttle mid-answer). */
  throttleAfterDeltas?: number;
}

interface StandInCall {
  modelId: string;
  tool: string;
  body: string;
  /** A ConverseStream call: how much of the answer went out before it ended. */
  streamed?: StreamedAnswer;
}

const disclaimer = 'This is general information, not medical advice. Talk to your doctor about your results.';

/** `Hemoglobin 13.5 g/dL (12.0-15.5)`: name, value, unit, reference range. */
const labLine =
  /^\s*([A-Za-z][A-Za-z0-9 ,/()-]*?)\s+(-?\d+(?:\.\d+)?)\s*([^\s()\d][^\s()]*)?\s*\(\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*\)\s*$/;
/** `Heart rate 72 bpm`, `Temperature 36.8 C`. */
const vitalLine =
  /^\s*(heart rate|pulse|temperature|weight|height|respiratory rate|oxygen saturation)\s*:?\s+(-?\d+(?:\.\d+)?)\s*(\S+)?\s*$/i;

/** The text of a PDF's uncompressed content streams: the strings shown by Tj/TJ, a line per text line. */
function pdfText(pdf: Buffer): string {
  const source = pdf.toString('latin1');
  const lines: string[] = [];
  for (const block of source.matchAll(/BT([\s\S]*?)ET/g)) {
    const strings = [...block[1]!.matchAll(/\(((?:\\.|[^\\)])*)\)\s*Tj/g)].map((m) =>
      m[1]!.replace(/\\([()\\])/g, '$1'),
    );
    lines.push(...strings);
  }
  return lines.join('\n');
}

function documentResult(text: string) {
  const labResults = text.split(/\r?\n/).flatMap((line) => {
    const m = labLine.exec(line);
    if (!m) return [];
    const [, testName, value, unit = '', low, high] = m;
    const v = Number(value);
    const flag = v < Number(low) ? 'low' : v > Number(high) ? 'high' : 'normal';
    return [
      {
        testName: testName!.trim(),
        value: v,
        valueText: value!,
        unit,
        referenceRange: { low: Number(low), high: Number(high), text: `${low}-${high}` },
        flag,
      },
    ];
  });
  const vitals = text.split(/\r?\n/).flatMap((line) => {
    const m = vitalLine.exec(line);
    return m ? [{ type: m[1]!.toLowerCase(), value: Number(m[2]), unit: m[3] ?? '' }] : [];
  });
  return {
    documentType: labResults.length ? 'lab_results' : vitals.length ? 'vitals' : 'other',
    summary: `Found ${labResults.length} lab result(s) and ${vitals.length} vital sign(s).`,
    labResults,
    vitals,
    disclaimer,
  };
}

/** A deterministic answer derived from the request, so tests can tell which input reached the model. */
function answer(tool: string, body: any): unknown {
  const lastUser = [...(body.messages ?? [])].reverse().find((m: any) => m.role === 'user');
  const blocks: any[] = lastUser?.content ?? [];
  if (tool === 'record_document_result') {
    const doc = blocks.find((b) => b.document)?.document;
    const image = blocks.find((b) => b.image)?.image;
    if (doc) {
      const bytes = Buffer.from(doc.source.bytes, 'base64');
      return documentResult(doc.format === 'pdf' ? pdfText(bytes) : bytes.toString('utf8'));
    }
    const size = image ? Buffer.from(image.source.bytes, 'base64').length : 0;
    return {
      documentType: 'other',
      summary: `An image of ${size} bytes; the offline stand-in reads no text from images.`,
      labResults: [],
      vitals: [],
      disclaimer,
    };
  }
  const texts: string[] = blocks.filter((b) => typeof b.text === 'string').map((b) => b.text);
  if (tool === 'respond_to_user') {
    // The question is the user's own block: before the fixed instruction, after any shared records.
    const question = texts.filter((t) => !t.startsWith('Records the user chose to share')).at(-2) ?? '';
    return {
      message: `You asked: "${question}". The offline stand-in cannot answer health questions, but the real model would. ${disclaimer}`,
    };
  }
  const history = JSON.parse(texts[0]?.replace(/^[^{]*/, '') || '{}');
  return {
    summary: `A report on ${history.labResults?.length ?? 0} lab result(s) and ${history.vitals?.length ?? 0} vital sign(s).`,
    sections: [{ title: 'Lab results', body: `${history.labResults?.length ?? 0} result(s) shared by the patient.` }],
    questionsForDoctor: ['Which of these results should we follow up?'],
    disclaimer,
  };
}

/**
 * Answers the Bedrock Runtime Converse route offline, over cleartext HTTP/2 like the SDK speaks
 * it: `POST /model/<url-encoded model id>/converse`, a tool use of the forced tool, usage counts.
 */
export async function startBedrockStandIn(options: { port?: number; faults?: StandInFaults } = {}) {
  let faults: StandInFaults = { ...options.faults };
  const calls: StandInCall[] = [];
  // Model calls being answered right now, and the most at once: what a cost guard must bound.
  const load = { inFlight: 0, peak: 0 };

  const server = createServer(async (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const route = /^\/model\/([^/]+)\/converse(-stream)?$/.exec(req.url ?? '');
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.method !== 'POST' || !route)
      return send(
        404,
        { message: 'The stand-in answers POST /model/<id>/converse only' },
        { 'x-amzn-errortype': 'ResourceNotFoundException' },
      );
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(400, { message: 'Malformed JSON' }, { 'x-amzn-errortype': 'ValidationException' });
    }
    // What Bedrock refuses is refused here, before it counts as a model call.
    const invalid = validateConverseRequest(body);
    if (invalid) return send(400, { message: invalid }, { 'x-amzn-errortype': 'ValidationException' });
    const tool: string = body.toolConfig?.toolChoice?.tool?.name ?? '';
    const call: StandInCall = { modelId: decodeURIComponent(route[1]!), tool, body: raw };
    calls.push(call);
    load.peak = Math.max(load.peak, ++load.inFlight);
    res.once('close', () => load.inFlight--);
    if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
    if (faults.throttleRate && Math.random() < faults.throttleRate) {
      return send(
        429,
        { message: 'Too many requests, please wait before trying again.' },
        { 'x-amzn-errortype': 'ThrottlingException' },
      );
    }
    if (route[2]) {
      const { message } = answer('respond_to_user', body) as { message: string };
      call.streamed = await streamAnswer(res, message, Math.ceil(raw.length / 4), faults);
      return;
    }
    const input = faults.malformed ? { unexpected: 'shape' } : answer(tool, body);
    // A model takes as long to write an answer whether it streams it or not (the bench compares both).
    if (faults.deltaDelayMs) {
      const text =
        typeof (input as { message?: unknown }).message === 'string'
          ? (input as { message: string }).message
          : JSON.stringify(input);
      await new Promise((r) => setTimeout(r, deltasOf(text).length * faults.deltaDelayMs!));
    }
    const outputTokens = Math.ceil(JSON.stringify(input).length / 4);
    const inputTokens = Math.ceil(raw.length / 4);
    send(200, {
      output: {
        message: {
          role: 'assistant',
          content: [{ toolUse: { toolUseId: `tooluse_${randomUUID()}`, name: tool, input } }],
        },
      },
      stopReason: 'tool_use',
      usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
      metrics: { latencyMs: faults.delayMs ?? 1 },
    });
  });

  const { url, close } = await listenOnLoopback(server, options.port);
  return {
    endpoint: url,
    calls,
    load,
    setFaults(next: StandInFaults) {
      faults = { ...next };
    },
    stop: close,
  };
}

/** Faults from the environment, for `npm start`. */
export function faultsFromEnv(env: NodeJS.ProcessEnv): StandInFaults {
  return {
    throttleRate: env.SERENYA_STANDIN_THROTTLE_RATE ? Number(env.SERENYA_STANDIN_THROTTLE_RATE) : undefined,
    delayMs: env.SERENYA_STANDIN_DELAY_MS ? Number(env.SERENYA_STANDIN_DELAY_MS) : undefined,
    malformed: env.SERENYA_STANDIN_MALFORMED === 'true',
    deltaDelayMs: env.SERENYA_STANDIN_DELTA_DELAY_MS ? Number(env.SERENYA_STANDIN_DELTA_DELAY_MS) : undefined,
    throttleAfterDeltas: env.SERENYA_STANDIN_THROTTLE_AFTER_DELTAS
      ? Number(env.SERENYA_STANDIN_THROTTLE_AFTER_DELTAS)
      : undefined,
  };
}
