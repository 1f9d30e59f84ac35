// Builds the web UI: `npx tsx services/web/src/cli.ts [--out DIR]` (default services/web/dist).
import { join, resolve } from 'node:path';
import { buildWeb, WEB_DIR } from './build.ts';

const args = process.argv.slice(2);
const at = args.indexOf('--out');
const out = resolve(at >= 0 && args[at + 1] ? args[at + 1] : join(WEB_DIR, 'dist'));
const result = await buildWeb(out);
process.stdout.write(
  `web: ${result.files.join(', ')} (${(result.bytes / 1024).toFixed(1)} KiB) in ${out}, ${result.ms} ms\n`,
);
