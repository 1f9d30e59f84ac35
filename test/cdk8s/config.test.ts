import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { defaultConfig, ecrRegistry, loadConfig, mergeConfig, roleArn } from '@meshmart/cdk8s/config.ts';

describe('cdk8s config', () => {
  it('when nothing overrides it, then the image tag is the root package version and the registry is derived', () => {
    const c = loadConfig({});
    expect(c.imageTag).to.match(/^\d+\.\d+\.\d+/);
    expect(ecrRegistry(c)).to.equal('111122223333.dkr.ecr.eu-west-1.amazonaws.com');
    expect(roleArn(c, 'cart')).to.equal('arn:aws:iam::111122223333:role/meshmart-cart');
  });

  it('when a JSON file and env vars override it, then env wins over the file and nested objects merge', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshmart-config-'));
    try {
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify({ replicas: 3, maxReplicas: 9, aws: { region: 'us-east-1' } }));
      const c = loadConfig({ MESHMART_K8S_CONFIG: file, MESHMART_AWS_ACCOUNT_ID: '999988887777' });
      expect(c.replicas).to.equal(3);
      expect(c.aws).to.include({ region: 'us-east-1', accountId: '999988887777', rolePrefix: 'meshmart-' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when values are invalid, then one error lists every problem', () => {
    expect(() =>
      mergeConfig(defaultConfig(), { replicas: 0, imageTag: 'latest', aws: { accountId: 'abc' } }),
    ).to.throw(/replicas must be .*\n.*accountId must be 12 digits.*\n.*never 'latest'/s);
  });
});
