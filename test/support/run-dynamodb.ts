import { inject } from 'vitest';
import { untilDynamoDbAnswers } from '../../local/stand-ins/dynamodb-local';

let answers: Promise<void> | undefined;

/**
 * The run's DynamoDB Local, once it answers: global-setup launches its JVM without waiting for it,
 * so the workers start and load their modules meanwhile.
 */
export async function runDynamoDb(): Promise<string> {
  const endpoint = inject('dynamodbEndpoint');
  answers ??= untilDynamoDbAnswers(endpoint);
  await answers;
  return endpoint;
}
