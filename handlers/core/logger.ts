import { Logger } from '@aws-lambda-powertools/logger';

/** JSON logs with the zone on every line. Callers log ids, sizes, durations and codes only. */
export function createLogger(zone: string, logLevel = 'INFO'): Logger {
  return new Logger({
    serviceName: 'serenya',
    logLevel: logLevel as 'INFO',
    persistentKeys: { zone },
  });
}
