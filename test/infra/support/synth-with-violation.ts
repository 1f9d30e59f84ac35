// Synthesizes the dev environment with one resource cdk-nag must reject; run by test/infra/app.test.ts in its own
// process (aws-cdk-lib keeps a global token map that mocha's --check-leaks would report).
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { createApp } from '../../../infra/lib/app.ts';

const app = createApp({ outdir: process.argv[2], context: { env: 'dev' } });
// An SQS queue with no dead-letter queue and no SSL enforcement: AwsSolutions-SQS3 and -SQS4.
new sqs.Queue(app.node.findChild('MeshMart-dev'), 'UncheckedQueue');
app.synth();
