import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { names, selectEnvironments, type EnvironmentContext } from './environments.ts';
import { EnvironmentStack } from './stacks/environment-stack.ts';

/**
 * The CDK app: one stack per environment, or the one the context key `env` names (`cdk synth -c env=dev`), with
 * `account` and `region` retargeting it. cdk-nag's AwsSolutions pack checks every stack; an unacknowledged finding
 * fails the synthesis.
 */
export function createApp(props: AppProps = {}): App {
  const app = new App(props);
  for (const environment of selectEnvironments(environmentContext(app)))
    new EnvironmentStack(app, names(environment).stack, { environment });
  // Acknowledged findings go into each resource's Metadata (cdk_nag), where the tests read their reasons.
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
  return app;
}

/** The context keys the app reads. */
export function environmentContext(app: App): EnvironmentContext {
  const read = (key: string): string | undefined => {
    const v: unknown = app.node.tryGetContext(key);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  return { env: read('env'), account: read('account'), region: read('region') };
}
