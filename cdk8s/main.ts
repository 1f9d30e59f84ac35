// `tsx cdk8s/main.ts [--profile p ...] [--out dist] [--config file.json]`: synthesizes profiles to <out>/<profile>/.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { loadConfig } from './config.ts';
import { PROFILE_NAMES, type ProfileName } from './profiles/index.ts';
import { synthProfiles } from './synth.ts';

export { synthProfiles } from './synth.ts';

function main(): void {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', multiple: true, short: 'p' },
      out: { type: 'string', short: 'o', default: 'dist' },
      config: { type: 'string', short: 'c' },
    },
    strict: true,
  });
  const wanted = values.profile ?? [...PROFILE_NAMES];
  const unknown = wanted.filter((p) => !(PROFILE_NAMES as readonly string[]).includes(p));
  if (unknown.length > 0) {
    console.error(`synth: unknown profile(s) ${unknown.join(', ')}; choose from ${PROFILE_NAMES.join(', ')}`);
    process.exit(2);
  }
  const config = loadConfig(process.env, values.config ?? process.env.MESHMART_K8S_CONFIG);
  const started = performance.now();
  for (const r of synthProfiles(wanted as ProfileName[], values.out, config))
    console.log(`synth: ${r.profile}: ${r.objects} objects -> ${r.dir}/ (${r.files.join(', ')})`);
  console.log(`synth: done in ${Math.round(performance.now() - started)} ms`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
