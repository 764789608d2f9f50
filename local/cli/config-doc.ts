import { readFileSync, writeFileSync } from 'node:fs';
import { configurationTable, configurationTableMarkers } from '../../handlers/core/config-reference';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(
    'Usage: npm run docs:config\n\nWrites the environment variables table of docs/configuration.md from the schemas.',
  );
  process.exit(0);
}
/** Writes the environment variables' reference table into docs/configuration.md, between its markers. */
const page = new URL('../../docs/configuration.md', import.meta.url);
const text = readFileSync(page, 'utf8');
const [open, close] = configurationTableMarkers;
const [start, end] = [text.indexOf(open), text.indexOf(close)];
if (start < 0 || end < start) {
  throw new Error(`docs/configuration.md lost its table markers; put them back: ${open} … ${close}`);
}
writeFileSync(page, `${text.slice(0, start + open.length)}\n\n${configurationTable()}\n\n${text.slice(end)}`);
console.error('docs/configuration.md: the configuration table is written.');
