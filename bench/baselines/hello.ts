/** The floor: a Lambda that does nothing but answer. */
export const handler = async () => ({ statusCode: 200, body: '{"status":"ok"}' });
