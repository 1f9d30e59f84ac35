// `tsx cdk8s/main.ts [--profile p ...] [--out dist] [--config file.json] [--example-values]`: synthesizes profiles to
// <out>/<profile>/. A profile that would carry an example value (the EKS profiles with the default account id and
// datastore hosts) stops the run before anything is written, naming each value to set; --example-values writes it
// anyway, to read (ops/deploy.ts refuses to apply it).
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { exampleValuesAdvice, exampleValuesIn, loadConfig, type ExampleValue } from './config.ts';
import { buildProfile, PROFILE_NAMES, type ProfileName } from './profiles/index.ts';
import { profileObjects, writeProfile } from './synth.ts';

export { synthProfiles } from './synth.ts';

function main(): number {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        profile: { type: 'string', multiple: true, short: 'p' },
        out: { type: 'string', short: 'o', default: 'dist' },
        config: { type: 'string', short: 'c' },
        'example-values': { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(
      `synth: ${(e as Error).message}\nusage: npx tsx cdk8s/main.ts [--profile NAME ...] [--out DIR] [--config FILE] [--example-values]`,
    );
    return 2;
  }
  const wanted = values.profile ?? [...PROFILE_NAMES];
  const unknown = wanted.filter((p) => !(PROFILE_NAMES as readonly string[]).includes(p));
  if (unknown.length > 0) {
    console.error(`synth: unknown profile(s) ${unknown.join(', ')}; choose from ${PROFILE_NAMES.join(', ')}`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env, values.config ?? process.env.MESHMART_K8S_CONFIG);
  } catch (e) {
    console.error(`synth: ${(e as Error).message}`);
    return 2;
  }
  const started = performance.now();
  const built = (wanted as ProfileName[]).map((name) => ({ name, profile: buildProfile(name, config) }));
  const examples = new Map<string, ExampleValue>();
  const withExamples: string[] = [];
  for (const { name, profile } of built) {
    const found = exampleValuesIn(profileObjects(profile));
    if (found.length === 0) continue;
    withExamples.push(name);
    for (const e of found) examples.set(e.setting, e);
  }
  if (withExamples.length > 0 && !values['example-values']) {
    const local = wanted.filter((p) => !withExamples.includes(p));
    console.error(
      [
        `synth: ${withExamples.join(', ')} would be written with example values, which point at no real AWS account; nothing was written. Set:`,
        exampleValuesAdvice([...examples.values()]),
        ...(local.length > 0
          ? [
              `Or synthesize only what needs none of them: make synth PROFILE=${local[0]} (--profile ${local[0]}).`,
            ]
          : []),
        'To write them anyway, to read and review (make deploy refuses to apply them): make synth EXAMPLE=1 (--example-values).',
      ].join('\n'),
    );
    return 2;
  }
  for (const { name, profile } of built) {
    const r = writeProfile(name, profile, values.out);
    const note = withExamples.includes(name) ? ' [example values: to read, not to deploy]' : '';
    console.log(`synth: ${r.profile}: ${r.objects} objects -> ${r.dir}/ (${r.files.join(', ')})${note}`);
  }
  console.log(`synth: done in ${Math.round(performance.now() - started)} ms`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
