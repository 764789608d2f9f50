import { z } from 'zod';
import { Usage, type JobType } from './job';

/**
 * What a job takes and what it gives back. The requests are the chat and report routes' bodies
 * (and the model adapter reads them back from the job's input object); each result schema is both
 * what the model is asked for and what the job service accepts from it and reads back from S3.
 */

export const ChatInput = z.strictObject({
  message: z.string().min(1).max(4000),
  context: z
    .strictObject({
      summary: z.string().max(4000).optional(),
      labResults: z.array(z.record(z.string(), z.unknown())).max(200).optional(),
    })
    .optional(),
  history: z
    .array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string().min(1).max(4000) }))
    .max(20)
    .optional(),
});

export const DoctorReportInput = z.strictObject({
  healthData: z.strictObject({
    labResults: z.array(z.record(z.string(), z.unknown())).max(1000),
    vitals: z.array(z.record(z.string(), z.unknown())).max(500),
    notes: z.string().max(4000).optional(),
  }),
});

const text = (max: number) => z.string().max(max);

export const LabResult = z.object({
  testName: text(200),
  value: z.number().nullable(),
  valueText: text(200),
  unit: text(50),
  referenceRange: z.object({ low: z.number().optional(), high: z.number().optional(), text: text(200).optional() }),
  flag: z.enum(['normal', 'low', 'high', 'critical', 'unknown']),
});

export const Vital = z.object({ type: text(100), value: z.number(), unit: text(50) });

export const DocumentResult = z.object({
  documentType: z.enum(['lab_results', 'vitals', 'other']),
  summary: text(4000),
  labResults: z.array(LabResult).max(500),
  vitals: z.array(Vital).max(200),
  disclaimer: text(1000),
});

export const ChatResult = z.object({ message: text(8000) });

export const DoctorReportResult = z.object({
  summary: text(4000),
  sections: z.array(z.object({ title: text(200), body: text(8000) })).max(30),
  questionsForDoctor: z.array(text(500)).max(30),
  disclaimer: text(1000),
});

/** The result each job type gives. */
export const resultSchemas = {
  document: DocumentResult,
  chat: ChatResult,
  doctor_report: DoctorReportResult,
} as const satisfies Record<JobType, z.ZodType>;

/** `result.json` beside the input: the job's type, its result and usage, read back with this schema. */
export const StoredResult = z.discriminatedUnion('type', [
  z.object({ type: z.literal('document'), result: DocumentResult, usage: Usage }),
  z.object({ type: z.literal('chat'), result: ChatResult, usage: Usage }),
  z.object({ type: z.literal('doctor_report'), result: DoctorReportResult, usage: Usage }),
]);
export type StoredResult = z.infer<typeof StoredResult>;
