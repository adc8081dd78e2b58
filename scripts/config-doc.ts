// `npm run docs:config`: re-renders the tables of docs/config.md from the config schema, keeping
// the prose and the descriptions already written, and names the fields that still need one.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseDoc, renderDoc } from '../src/config/config-doc.js';

const file = new URL('../docs/config.md', import.meta.url);
const previous = parseDoc(existsSync(file) ? readFileSync(file, 'utf8') : '# Configuration reference\n');
const { text, missing } = renderDoc(previous);
writeFileSync(file, text);
if (missing.length > 0) {
  console.error(`docs/config.md: ${missing.length} field(s) without a description:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
console.log('docs/config.md is up to date');
