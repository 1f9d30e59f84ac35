// `make policy`: synthesizes every profile in memory, validates each object against its schema, runs every policy
// rule, prints a report per profile and exits 1 on any violation. `--profile p` (repeatable) narrows it.
import { parseArgs } from 'node:util';
import { loadConfig } from '@meshmart/cdk8s/config.ts';
import { policyContext } from '@meshmart/cdk8s/policy/context.ts';
import { checkPolicy, formatReport } from '@meshmart/cdk8s/policy/index.ts';
import { buildProfile, PROFILE_NAMES, type ProfileName } from '@meshmart/cdk8s/profiles/index.ts';
import { profileObjects } from '@meshmart/cdk8s/synth.ts';
import { validateManifests } from '@meshmart/cdk8s/validation/index.ts';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', multiple: true, short: 'p' },
    config: { type: 'string', short: 'c' },
  },
  strict: true,
});
const wanted = (values.profile ?? [...PROFILE_NAMES]) as ProfileName[];
const config = loadConfig(process.env, values.config ?? process.env.MESHMART_K8S_CONFIG);
let failed = 0;
for (const name of wanted) {
  if (!(PROFILE_NAMES as readonly string[]).includes(name)) {
    console.error(`policy: unknown profile '${name}'; choose from ${PROFILE_NAMES.join(', ')}`);
    process.exit(2);
  }
  const profile = buildProfile(name, config);
  const objects = profileObjects(profile);
  const schema = validateManifests(objects);
  const report = checkPolicy(objects, policyContext(profile, config));
  console.log(formatReport(`${name} (${objects.length} objects)`, report));
  console.log(
    `  ${schema.length === 0 ? 'ok  ' : 'FAIL'} schema: every object validates against its Kubernetes schema or CRD`,
  );
  for (const p of schema) console.log(`         - ${p}`);
  console.log('');
  failed += report.violations + schema.length;
}
console.log(failed === 0 ? 'policy: all profiles pass' : `policy: ${failed} problem(s)`);
process.exitCode = failed === 0 ? 0 : 1;
