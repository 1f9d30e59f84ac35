import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import {
  checkOptions,
  httpApiExport,
  JWT_AUTHORIZER,
  publicApiDocument,
  restApiExport,
  stageThrottling,
  toOpenApi30,
  type ApiGatewayOptions,
} from '../../../../services/gateway/src/aws/api-gateway.ts';
import { pythonTool, startMoto, type Moto } from '../../../support/moto.ts';

type Json = Record<string, any>;

const OPTIONS: ApiGatewayOptions = {
  vpcLinkId: 'a1b2c3',
  nlbListenerArn:
    'arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/net/meshmart-gateway/50dc6c495c0c9188/f2f7dc8efc522ab2',
  nlbDnsName: 'meshmart-gateway-50dc6c495c0c9188.elb.eu-west-1.amazonaws.com',
  issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123',
  audience: '7kq2mmart0client1id2',
  rateLimits: { perUser: 1200, perAddress: 6000, windowSeconds: 60 },
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function operations(doc: Json): { path: string; method: string; op: Json }[] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] as Json })),
  );
}

/**
 * AWS's documented shape of the HTTP API extensions ("x-amazon-apigateway-integration object" and
 * "x-amazon-apigateway-authorizer object" in the API Gateway developer guide, HTTP API fields only), closed.
 */
const INTEGRATION_V2 = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'uri', 'payloadFormatVersion'],
  properties: {
    type: { enum: ['http_proxy', 'aws_proxy'] },
    httpMethod: { enum: ['ANY', 'GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] },
    uri: { type: 'string', minLength: 1 },
    connectionType: { enum: ['INTERNET', 'VPC_LINK'] },
    connectionId: { type: 'string' },
    credentials: { type: 'string' },
    integrationSubtype: { type: 'string' },
    payloadFormatVersion: { enum: ['1.0', '2.0'] },
    timeoutInMillis: { type: 'integer', minimum: 50, maximum: 30000 },
    requestParameters: { type: 'object', additionalProperties: { type: 'string' } },
    responseParameters: { type: 'object' },
    tlsConfig: {
      type: 'object',
      additionalProperties: false,
      properties: { serverNameToVerify: { type: 'string' } },
    },
  },
  if: { properties: { connectionType: { const: 'VPC_LINK' } }, required: ['connectionType'] },
  then: {
    required: ['connectionId'],
    properties: { uri: { pattern: '^arn:aws[a-z-]*:(elasticloadbalancing|servicediscovery):' } },
  },
};
const JWT_AUTHORIZER_V2 = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'jwtConfiguration', 'identitySource'],
  properties: {
    type: { const: 'jwt' },
    identitySource: { type: 'string', pattern: '^\\$request\\.header\\.' },
    jwtConfiguration: {
      type: 'object',
      additionalProperties: false,
      required: ['issuer', 'audience'],
      properties: {
        issuer: { type: 'string', pattern: '^https://' },
        audience: { type: 'array', minItems: 1, items: { type: 'string' } },
      },
    },
  },
};

describe('gateway: the public API for Amazon API Gateway (services/gateway/src/aws/api-gateway.ts)', function () {
  this.timeout(60_000);
  const doc31 = publicApiDocument();
  const http: Json = httpApiExport(doc31, OPTIONS);
  const rest: Json = restApiExport(doc31, OPTIONS);
  let dir: string;
  let moto: Moto;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshmart-apigw-'));
    moto = await startMoto();
  });
  after(async () => {
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const validate = (name: string, doc: unknown): { ok: boolean; out: string } => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(doc));
    const r = spawnSync(pythonTool('openapi-spec-validator'), [file], { encoding: 'utf8' });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
  };

  it('when both exports are checked by openapi-spec-validator, then they are valid OpenAPI 3.0; the 3.1 document relabelled 3.0 is not', () => {
    expect(http.openapi).to.equal('3.0.1');
    for (const [name, doc] of [
      ['http.json', http],
      ['rest.json', rest],
    ] as const) {
      const r = validate(name, doc);
      expect(r.ok, r.out).to.equal(true);
    }
    expect(doc31.openapi).to.equal('3.1.0');
    expect(validate('relabelled.json', { ...doc31, openapi: '3.0.1' }).ok).to.equal(false);
  });

  it('when exported, then every route of the gateway goes through the VPC Link, and exactly the signed-in routes need the JWT authorizer', () => {
    const routes = operations(doc31);
    expect(routes.length).to.be.greaterThan(15);
    expect(operations(http).map((r) => `${r.method} ${r.path}`)).to.deep.equal(
      routes.map((r) => `${r.method} ${r.path}`),
    );
    for (const { path, method, op } of operations(http)) {
      const integration = op['x-amazon-apigateway-integration'] as Json;
      expect(integration, `${method} ${path}`).to.deep.include({
        type: 'http_proxy',
        httpMethod: method.toUpperCase(),
        connectionType: 'VPC_LINK',
        connectionId: OPTIONS.vpcLinkId,
        uri: OPTIONS.nlbListenerArn,
      });
      const original = routes.find((r) => r.path === path && r.method === method)!.op;
      expect(op.security, `${method} ${path}`).to.deep.equal(
        original.security ? [{ [JWT_AUTHORIZER]: [] }] : undefined,
      );
    }
    expect(operations(http).filter((r) => r.op.security).length).to.be.greaterThan(5);
    expect(http.paths['/api/v1/products'].get.security).to.equal(undefined);
  });

  it("when the HTTP API's extensions are checked against AWS's documented schema, then they conform; a wrong field is caught", () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const integration = ajv.compile(INTEGRATION_V2);
    for (const { path, method, op } of operations(http)) {
      const ok = integration(op['x-amazon-apigateway-integration']);
      expect(ok, `${method} ${path}: ${ajv.errorsText(integration.errors)}`).to.equal(true);
    }
    const authorizer = ajv.compile(JWT_AUTHORIZER_V2);
    const scheme = http.components.securitySchemes[JWT_AUTHORIZER] as Json;
    expect(scheme).to.include({ type: 'oauth2' });
    expect(authorizer(scheme['x-amazon-apigateway-authorizer']), ajv.errorsText(authorizer.errors)).to.equal(
      true,
    );
    expect(scheme['x-amazon-apigateway-authorizer'].jwtConfiguration).to.deep.equal({
      issuer: OPTIONS.issuer,
      audience: [OPTIONS.audience],
    });
    expect(http['x-amazon-apigateway-importexport-version']).to.equal('1.0');
    // Negative controls: the schema catches what API Gateway would refuse.
    const sample = operations(http)[0].op['x-amazon-apigateway-integration'] as Json;
    expect(integration({ ...sample, connectionType: 'VPC_LINK', connectionId: undefined })).to.equal(false);
    expect(integration({ ...sample, uri: 'http://internal-nlb/' })).to.equal(false);
    expect(integration({ ...sample, passthroughBehavior: 'when_no_match' })).to.equal(false);
    expect(
      authorizer({
        ...scheme['x-amazon-apigateway-authorizer'],
        jwtConfiguration: { issuer: 'meshmart-gateway', audience: ['x'] },
      }),
    ).to.equal(false);
  });

  it("when the gateway's rate limits are 6000 per minute per address, then the stage throttles at 100 requests per second", () => {
    expect(stageThrottling(OPTIONS)).to.deep.equal({ rateLimit: 100, burstLimit: 200 });
    expect(http['x-meshmart-stage'].defaultRouteSettings).to.deep.equal({
      throttlingRateLimit: 100,
      throttlingBurstLimit: 200,
    });
  });

  it('when the issuer is the local HS256 issuer or an id is malformed, then the export refuses, naming each fix', () => {
    let message = '';
    try {
      checkOptions({ ...OPTIONS, issuer: 'meshmart-gateway', nlbListenerArn: 'my-nlb', vpcLinkId: 'Bad Id' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.include("issuer 'meshmart-gateway'").and.include('JWT_JWKS_URL');
    expect(message).to.include("nlbListenerArn 'my-nlb'");
    expect(message).to.include("vpcLinkId 'Bad Id'");
  });

  it('when a 3.1 schema uses null unions, const and numeric exclusive bounds, then the 3.0 form says the same', () => {
    const doc: Json = toOpenApi30({
      openapi: '3.1.0',
      paths: {},
      components: {
        schemas: {
          A: { type: ['string', 'null'], const: 'x', examples: ['x'] },
          B: { anyOf: [{ type: 'integer', exclusiveMinimum: 0 }, { type: 'null' }] },
        },
      },
    });
    expect(doc.components).to.deep.equal({
      schemas: {
        A: { type: 'string', nullable: true, enum: ['x'], example: 'x' },
        B: { type: 'integer', minimum: 0, exclusiveMinimum: true, nullable: true },
      },
    });
  });

  it("when the REST API variant is imported into moto's API Gateway, then every route and its VPC Link integration are there", async () => {
    const call = async (method: string, path: string, body?: unknown): Promise<Json> => {
      const res = await fetch(`${moto.url}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/apigateway/aws4_request, SignedHeaders=host, Signature=0',
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await res.json()) as Json;
      expect(res.status, `${method} ${path}: ${JSON.stringify(json)}`).to.be.within(200, 201);
      return json;
    };
    const api = await call('POST', '/restapis?mode=import', rest);
    const { item: resources } = (await call('GET', `/restapis/${api.id as string}/resources?limit=500`)) as {
      item: { id: string; path: string; resourceMethods?: Record<string, unknown> }[];
    };
    for (const { path, method } of operations(doc31)) {
      const resource = resources.find((r) => r.path === path);
      expect(resource, `resource ${path}`).to.not.equal(undefined);
      const verb = method.toUpperCase();
      expect(Object.keys(resource!.resourceMethods ?? {}), path).to.include(verb);
      const integration = await call(
        'GET',
        `/restapis/${api.id as string}/resources/${resource!.id}/methods/${verb}/integration`,
      );
      // moto keeps the type as imported; API Gateway reports it upper-case.
      expect(String(integration.type).toUpperCase(), `${verb} ${path}`).to.equal('HTTP_PROXY');
      expect(integration, `${verb} ${path}`).to.deep.include({
        httpMethod: verb,
        uri: `http://${OPTIONS.nlbDnsName}${path}`,
        connectionType: 'VPC_LINK',
      });
      // moto 5.2.5 does not keep connectionId on import, so the document itself is checked for it.
      expect((rest.paths as Json)[path][method]['x-amazon-apigateway-integration'].connectionId).to.equal(
        OPTIONS.vpcLinkId,
      );
    }
  });
});
