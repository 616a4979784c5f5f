// Builds widget/causerie.min.js, the file the service serves, from widget/causerie.js:
// `npm ci && npm run build` (README, Development). Its first line names the SHA-256 of the
// source it came from, which the service and the test suite check without Node.
import {createHash} from 'node:crypto';
import {readFileSync, writeFileSync} from 'node:fs';
import {minify} from 'terser';

const folder = new URL('.', import.meta.url);
// Line endings as Python's text mode reads them, so that both sides hash the same text.
const source = readFileSync(new URL('causerie.js', folder), 'utf8').replace(/\r\n?/g, '\n');
const sha256 = createHash('sha256').update(source).digest('hex');
const {code} = await minify(source, {
  ecma: 2020,
  compress: {passes: 2},
  mangle: true,
  format: {preamble: `// Built from causerie.js ${sha256} by npm run build: edit the source, not this file.`},
});
writeFileSync(new URL('causerie.min.js', folder), code + '\n');
