// `make step-functions`: the checkout saga as an AWS Step Functions state machine (Amazon States Language, JSONata),
// rendered from its definition (services/checkout/src/domain/checkout-saga.ts) and checked with asl-validator.
//
//   npx tsx scripts/step-functions.ts [--out dist/aws] [--connection-arn ARN] [--config file.json]
//
// Participants are called at https://<service>.<latticeDomain> (cdk8s config); the HTTP Tasks authenticate with the
// EventBridge connection named by --connection-arn (default: connection `meshmart-participants` in the config's
// account and region — create it, or pass your own).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import validator from 'asl-validator';
import { loadConfig } from '@meshmart/cdk8s/config.ts';
import { checkoutStateMachine } from '../services/checkout/src/aws/state-machine.ts';
import { checkoutSaga } from '../services/checkout/src/domain/checkout-saga.ts';

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'dist/aws' },
      'connection-arn': { type: 'string' },
      config: { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig(process.env, values.config ?? process.env.MESHMART_K8S_CONFIG);
  const endpoint = (service: string): string => `https://${service}.${config.latticeDomain}`;
  const asl = checkoutStateMachine(checkoutSaga(), {
    endpoints: {
      orders: endpoint('orders'),
      inventory: endpoint('inventory'),
      payments: endpoint('payments'),
      cart: endpoint('cart'),
    },
    connectionArn:
      values['connection-arn'] ??
      `arn:aws:events:${config.aws.region}:${config.aws.accountId}:connection/meshmart-participants`,
  });
  const result = validator(JSON.parse(JSON.stringify(asl)) as object);
  if (!result.isValid) {
    console.error(`step-functions: the rendered ASL is invalid:\n${JSON.stringify(result.errors, null, 2)}`);
    process.exit(1);
  }
  const file = join(resolve(values.out), 'checkout-state-machine.asl.json');
  mkdirSync(resolve(values.out), { recursive: true });
  writeFileSync(file, `${JSON.stringify(asl, null, 2)}\n`);
  console.log(
    `step-functions: ${file} (${Object.keys(asl.States as object).length} states, asl-validator: valid)`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
