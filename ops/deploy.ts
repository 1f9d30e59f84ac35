// `npx tsx ops/deploy.ts --profile kind [--dir dist/kind | --synth] [--dry-run] [--no-wait] [--timeout 5m] ...`:
// server-side apply of a profile with prune and a rollout wait. `--help` lists every option; docs/operations.md
// explains them and the exit codes.
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { exampleValuesAdvice, exampleValuesIn } from '@meshmart/cdk8s/config.ts';
import { abortOnSignals, err, EXIT, out, parseDuration, UsageError } from './lib/cli.ts';
import { checkDeployName, deploy, DEPLOY_LABEL, FIELD_MANAGER, type DeployEvent } from './lib/deploy.ts';
import { staleness } from './lib/freshness.ts';
import { ConnectionError, Kube, KubeconfigError, ObjectError, type KubeObject } from './lib/kube.ts';
import { isProfileName, objectsFromDir, objectsFromDist, PROFILE_NAMES } from './lib/manifests.ts';
import { formatDuration, RolloutError, waitForRollout } from './lib/rollout.ts';
import { describeSecretProblem, secretProblems } from './lib/secrets.ts';

const USAGE = `usage: npx tsx ops/deploy.ts --profile <${PROFILE_NAMES.join('|')}> [options]
  --profile, -p NAME      the profile; objects come from dist/NAME/ exactly as written (make synth PROFILE=NAME)
  --dir DIR               read the objects from DIR/*.yaml instead
  --synth                 synthesize the profile in this process instead (config from MESHMART_* / MESHMART_K8S_CONFIG)
  --name NAME             owner name: label ${DEPLOY_LABEL} and inventory ConfigMap (default: the profile)
  --dry-run               server-side dry run: validated and admitted by the API server, nothing stored, no prune
  --prerequisites         with --dry-run: create the CRDs and Namespaces for real (empty) so every object is checked
  --force-conflicts       take over fields another field manager owns (default: stop on a conflict)
  --no-prune              keep objects of the previous deploy that are no longer in the profile
  --no-wait               do not wait for Deployments and StatefulSets to roll out
  --timeout DURATION      rollout wait (default 5m)
  --inventory-namespace NS where the inventory ConfigMap lives (default 'default')
  --kubeconfig FILE       (default $KUBECONFIG, then ~/.kube/config)
  --context NAME          kubeconfig context (default: the current one)
exit codes: 0 done, 1 an object was rejected or the API failed, 2 usage or kubeconfig, 3 rollout not complete in time,
  4 dry run incomplete (objects the server could not check), 130 interrupted`;

/** Not a usage mistake, but the same exit code: the usage text would bury what to set. */
class Refusal extends UsageError {}

export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        profile: { type: 'string', short: 'p' },
        dir: { type: 'string' },
        synth: { type: 'boolean', default: false },
        name: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        prerequisites: { type: 'boolean', default: false },
        'force-conflicts': { type: 'boolean', default: false },
        'no-prune': { type: 'boolean', default: false },
        'no-wait': { type: 'boolean', default: false },
        timeout: { type: 'string', default: '5m' },
        'poll-interval': { type: 'string', default: '1s' },
        'inventory-namespace': { type: 'string', default: 'default' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    err(`deploy: ${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    out(USAGE);
    return EXIT.ok;
  }

  let objects: KubeObject[];
  let name: string;
  let timeoutMs: number;
  let pollMs: number;
  try {
    const profile = values.profile;
    if (!profile && !values.dir) throw new UsageError('give --profile (or --dir with --name)');
    if (values.synth && values.dir) throw new UsageError('--synth and --dir exclude each other');
    if (values.prerequisites && !values['dry-run'])
      throw new UsageError('--prerequisites goes with --dry-run (a deploy applies them anyway)');
    if (values.synth && (!profile || !isProfileName(profile)))
      throw new UsageError(`--synth needs --profile, one of ${PROFILE_NAMES.join(', ')}`);
    if (profile && !values.dir && !isProfileName(profile))
      throw new UsageError(`unknown profile '${profile}'; choose from ${PROFILE_NAMES.join(', ')}`);
    name = values.name ?? profile ?? '';
    if (!name) throw new UsageError('give --name when deploying a --dir');
    try {
      checkDeployName(name);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    timeoutMs = parseDuration(values.timeout, '--timeout');
    pollMs = parseDuration(values['poll-interval'], '--poll-interval');
    const fromDist = !values.dir && !values.synth;
    const dir = values.dir ?? (values.synth ? undefined : resolve('dist', profile!));
    try {
      if (fromDist && dir) objects = objectsFromDist(dir, profile!);
      else if (dir) objects = objectsFromDir(dir);
      else {
        const { objectsFromSynth } = await import('./lib/synth.ts');
        objects = objectsFromSynth(profile as (typeof PROFILE_NAMES)[number]);
      }
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const examples = exampleValuesIn(objects);
    if (examples.length > 0) {
      const what = `the objects hold example values, which point at no real AWS account`;
      const advice = `${exampleValuesAdvice(examples)}\nthen synthesize again: make synth PROFILE=${profile ?? '<profile>'}`;
      if (!values['dry-run']) throw new Refusal(`refusing to apply: ${what}. Set:\n${advice}`);
      err(`deploy: warning: ${what} (a dry run checks them anyway). Before a real deploy, set:\n${advice}`);
    }
    if (fromDist && dir) {
      const stale = staleness(dir);
      if (stale) {
        const shown = stale.newer.slice(0, 3).join(', ');
        const more = stale.newer.length > 3 ? ` and ${stale.newer.length - 3} more` : '';
        err(
          `deploy: note: ${relative('.', dir)}/ was written before these sources last changed: ${shown}${more}. ` +
            `It is applied as it is (what you reviewed). To apply the current sources: make synth PROFILE=${profile}, review ${relative('.', dir)}/, then deploy again.`,
        );
      }
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // A refusal is not a usage mistake: the usage text would bury the values to set.
    err(`deploy: ${e.message}${e instanceof Refusal ? '' : `\n${USAGE}`}`);
    return EXIT.usage;
  }

  let kube: Kube;
  try {
    kube = new Kube({
      ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
      ...(values.context ? { context: values.context } : {}),
    });
  } catch (e) {
    if (!(e instanceof KubeconfigError)) throw e;
    err(`deploy: ${e.message}`);
    return EXIT.usage;
  }
  try {
    await kube.check();
  } catch (e) {
    if (!(e instanceof ConnectionError)) throw e;
    err(`deploy: ${e.message}`);
    err('deploy: nothing was applied');
    return EXIT.failed;
  }
  const dryRun = values['dry-run'];
  const prerequisites = values.prerequisites;
  const controller = abortOnSignals();
  const started = performance.now();
  out(
    `deploy: '${name}': ${objects.length} objects to ${kube.server} as field manager ${FIELD_MANAGER}${dryRun ? ` (server-side dry run${prerequisites ? '; CRDs and Namespaces for real' : ''})` : ''}`,
  );
  let total = 0;
  const onEvent = (e: DeployEvent): void => {
    if (e.type === 'applied')
      out(
        `  [${++total}] ${dryRun && !e.real ? 'checked' : 'applied'}     ${e.object}${e.real ? ' (for real: --prerequisites)' : ''}`,
      );
    else if (e.type === 'established') out(`      established ${e.object}`);
    else if (e.type === 'skipped') out(`      skipped     ${e.object}: ${e.reason}`);
    else if (e.type === 'pruned') out(`      pruned      ${e.object}${dryRun ? ' (dry run)' : ''}`);
    else out(`      kept        ${e.object}: ${e.reason}`);
  };
  try {
    const result = await deploy({
      kube,
      name,
      objects,
      dryRun,
      prerequisites,
      forceConflicts: values['force-conflicts'],
      prune: !values['no-prune'],
      inventoryNamespace: values['inventory-namespace'],
      onEvent,
      signal: controller.signal,
    });
    out(
      `deploy: ${result.applied.length} ${dryRun ? 'checked by the API server (dry run)' : 'applied'}, ${result.skipped.length} skipped, ${result.pruned.length} pruned in ${formatDuration(Math.round(performance.now() - started))}`,
    );
    for (const p of await secretProblems(kube, objects)) err(`deploy: warning: ${describeSecretProblem(p)}`);
    if (dryRun && result.skipped.length > 0) {
      const checked = result.applied.length;
      err(
        `deploy: dry run incomplete: the API server checked ${checked} of ${checked + result.skipped.length} objects; ` +
          `${result.skipped.length} could not be checked because their namespace or CRD does not exist on the cluster yet, ` +
          `and a dry run creates neither. To check every object, let the dry run create those (empty) for real: ` +
          (values.profile && !values.dir
            ? `make deploy PROFILE=${values.profile} ARGS="--dry-run --prerequisites".`
            : 'add --prerequisites.'),
      );
      return EXIT.unchecked;
    }
    if (dryRun || values['no-wait'] || result.workloads.length === 0) {
      if (!dryRun && values['no-wait'] && result.workloads.length > 0)
        out(`deploy: not waiting for ${result.workloads.length} workloads (--no-wait)`);
      return EXIT.ok;
    }
    out(
      `deploy: waiting up to ${formatDuration(timeoutMs)} for ${result.workloads.length} workloads to roll out`,
    );
    const n = result.workloads.length;
    await waitForRollout({
      kube,
      workloads: result.workloads,
      timeoutMs,
      pollMs,
      signal: controller.signal,
      onProgress: (changed, all) => {
        const ready = all.filter((s) => s.ready).length;
        for (const s of changed)
          out(`  [${ready}/${n} ready] ${s.ready ? 'ready  ' : 'waiting'} ${s.name}: ${s.detail}`);
      },
    });
    out(
      `deploy: all ${n} workloads rolled out in ${formatDuration(Math.round(performance.now() - started))}`,
    );
    return EXIT.ok;
  } catch (e) {
    if (controller.signal.aborted) {
      err('deploy: interrupted; run it again to finish (apply is idempotent)');
      return EXIT.interrupted;
    }
    if (e instanceof RolloutError) {
      err(`deploy: ${e.message}`);
      return EXIT.incomplete;
    }
    if (e instanceof ObjectError) {
      err(`deploy: stopped: ${e.message}`);
      if (e.status?.code === 409)
        err(
          'deploy: another field manager owns these fields; re-run with --force-conflicts to take them over',
        );
      return EXIT.failed;
    }
    err(`deploy: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.failed;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Exits explicitly: the HTTP agent's keep-alive sockets would hold the process open for a while.
  process.exit(await main(process.argv.slice(2)));
}
