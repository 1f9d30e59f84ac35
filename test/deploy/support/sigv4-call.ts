// A bundle entry for test/deploy/sigv4-bundle.test.ts: one signed call through the kit's client, as a service in the
// image makes it (plain node, no node_modules): the policy from UPSTREAM_TARGET_*, credentials from the default chain.
import { createHttpClient, upstreamPolicyFromEnv } from '@meshmart/kit/http';

const client = createHttpClient({
  upstream: 'target',
  baseUrl: process.env.TARGET_URL ?? '',
  ...upstreamPolicyFromEnv('target'),
});
try {
  const res = await client.get('/signed', { query: { q: 'bundle test' } });
  process.stdout.write(`${JSON.stringify({ status: res.status })}\n`);
} finally {
  await client.close();
}
