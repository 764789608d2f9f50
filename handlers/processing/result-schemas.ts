import { z } from '@hono/zod-openapi';

/**
 * What the model must answer, per job type. Each schema is both the forced tool's input schema
 * (so Bedrock is asked for exactly this shape) and the validator of what comes back.
 */

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

export const DocumentResult = z
  .object({
    documentType: z.enum(['lab_results', 'vitals', 'other']),
    summary: text(4000),
    labResults: z.array(LabResult).max(500),
    vitals: z.array(Vital).max(200),
    disclaimer: text(1000),
  })
  .openapi('DocumentResult');

export const ChatResult = z.object({ message: text(8000) }).openapi('ChatResult');

export const DoctorReportResult = z
  .object({
    summary: text(4000),
    sections: z.array(z.object({ title: text(200), body: text(8000) })).max(30),
    questionsForDoctor: z.array(text(500)).max(30),
    disclaimer: text(1000),
  })
  .openapi('DoctorReportResult');

export const jobTypes = ['document', 'chat', 'doctor_report'] as const;
export type JobType = (typeof jobTypes)[number];

/** The tool each job type's call is forced to use, and the schema of its input. */
export const resultTools = {
  document: { name: 'record_document_result', description: 'Record the structured content of the medical document.', schema: DocumentResult },
  chat: { name: 'respond_to_user', description: "Give the answer to the user's health question.", schema: ChatResult },
  doctor_report: { name: 'record_doctor_report', description: "Record a report on the user's health history for their doctor.", schema: DoctorReportResult },
} as const satisfies Record<JobType, { name: string; description: string; schema: z.ZodType }>;

export type ResultOf<T extends JobType> = z.infer<(typeof resultTools)[T]['schema']>;
