// `make api-gateway`: the public API for Amazon API Gateway (services/gateway/src/aws/api-gateway.ts) in dist/aws/:
//   http-api.openapi.json   HTTP API (v2): VPC Link to the gateway's NLB, JWT authorizer, stage throttling
//   rest-api.openapi.json   REST API (v1) variant (what moto imports; no JWT authorizer in REST APIs)
//
//   npx tsx scripts/api-gateway.ts [--out dist/aws] [--vpc-link-id ID] [--nlb-listener-arn ARN]
//       [--nlb-dns-name NAME] [--issuer URL] [--audience AUD] [--config file.json]
//
// Defaults come from the cdk8s config (account, region) and the gateway's settings (JWT_ISSUER, JWT_AUDIENCE,
// RATE_LIMIT_*); placeholders name what to replace with the stack's real ids.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '@meshmart/cdk8s/config.ts';
import {
  gatewayRateLimits,
  httpApiExport,
  publicApiDocument,
  restApiExport,
  type ApiGatewayOptions,
} from '../services/gateway/src/aws/api-gateway.ts';

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'dist/aws' },
      'vpc-link-id': { type: 'string', default: 'replacewithvpclinkid' },
      'nlb-listener-arn': { type: 'string' },
      'nlb-dns-name': { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      config: { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig(process.env, values.config ?? process.env.MESHMART_K8S_CONFIG);
  const { region, accountId } = config.aws;
  const options: ApiGatewayOptions = {
    vpcLinkId: values['vpc-link-id'],
    nlbListenerArn:
      values['nlb-listener-arn'] ??
      `arn:aws:elasticloadbalancing:${region}:${accountId}:listener/net/meshmart-gateway/0000000000000000/0000000000000000`,
    nlbDnsName: values['nlb-dns-name'] ?? `meshmart-gateway-0000000000000000.elb.${region}.amazonaws.com`,
    issuer:
      values.issuer ??
      process.env.JWT_ISSUER ??
      `https://cognito-idp.${region}.amazonaws.com/${region}_EXAMPLE`,
    audience: values.audience ?? process.env.JWT_AUDIENCE ?? 'meshmart',
    rateLimits: gatewayRateLimits(),
  };
  const doc = publicApiDocument();
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const files: [string, unknown][] = [
    ['http-api.openapi.json', httpApiExport(doc, options)],
    ['rest-api.openapi.json', restApiExport(doc, options)],
  ];
  for (const [name, body] of files) writeFileSync(join(out, name), `${JSON.stringify(body, null, 2)}\n`);
  const routes = Object.values(doc.paths as Record<string, object>).reduce(
    (n, p) => n + Object.keys(p).length,
    0,
  );
  console.log(`api-gateway: ${routes} routes -> ${files.map(([n]) => join(out, n)).join(', ')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
