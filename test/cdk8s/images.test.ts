import { expect } from 'chai';
import { defaultConfig, loadConfig, mergeConfig, type MeshmartConfig } from '@meshmart/cdk8s/config.ts';
import { resolveImage } from '@meshmart/cdk8s/images.ts';
import { buildProfile, PROFILE_NAMES } from '@meshmart/cdk8s/profiles/index.ts';
import { profileObjects, type KubeObject } from '@meshmart/cdk8s/synth.ts';

function images(objects: readonly KubeObject[]): string[] {
  const out: string[] = [];
  const walk = (value: unknown, key = ''): void => {
    if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
    else if (key === 'image' && typeof value === 'string') out.push(value);
  };
  walk(objects);
  return out;
}

const withImages = (config: MeshmartConfig, images: MeshmartConfig['images']): MeshmartConfig =>
  mergeConfig(config, { images });

describe('cdk8s image settings', () => {
  it('when a registry is given, then it replaces the registry of every image, named or implicit', () => {
    const settings = { registry: 'registry.example.com:5000/mirror' };
    expect(resolveImage(settings, 'redis:7.2.5')).to.equal('registry.example.com:5000/mirror/redis:7.2.5');
    expect(resolveImage(settings, 'prom/prometheus:v3.5.0')).to.equal(
      'registry.example.com:5000/mirror/prom/prometheus:v3.5.0',
    );
    expect(resolveImage(settings, 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1')).to.equal(
      'registry.example.com:5000/mirror/appmesh/aws-appmesh-envoy:v1',
    );
    expect(resolveImage(settings, 'localhost/x:1')).to.equal('registry.example.com:5000/mirror/x:1');
  });

  it('when an image has an override, then the override is used as it is, prefix or not', () => {
    const settings = {
      registry: 'mirror.example.com',
      overrides: { 'mongo:7.0.14': 'local/ferretdb:1.24.2' },
    };
    expect(resolveImage(settings, 'mongo:7.0.14')).to.equal('local/ferretdb:1.24.2');
    expect(resolveImage(settings, 'mongo:7.0.15')).to.equal('mirror.example.com/mongo:7.0.15');
    expect(resolveImage(undefined, 'mongo:7.0.14')).to.equal('mongo:7.0.14');
  });

  it('when no image setting is given, then every profile names the same images as before', () => {
    for (const name of PROFILE_NAMES) {
      const plain = profileObjects(buildProfile(name, defaultConfig()));
      const empty = profileObjects(buildProfile(name, withImages(defaultConfig(), { overrides: {} })));
      expect(JSON.stringify(empty), name).to.equal(JSON.stringify(plain));
    }
  });

  it('when the kind profile gets overrides and a prefix, then every container of every workload follows them', () => {
    const config = withImages(defaultConfig(), {
      registry: 'registry.internal',
      overrides: {
        'mongo:7.0.14': 'meshmart.local/ferretdb:1.24.2',
        'redis:7.2.5': 'meshmart.local/redis:7.0.15',
      },
    });
    const found = images(profileObjects(buildProfile('kind', config)));
    expect(found).to.include.members(['meshmart.local/ferretdb:1.24.2', 'meshmart.local/redis:7.0.15']);
    expect(found).to.include(`registry.internal/meshmart/services:${config.imageTag}`);
    const rest = found.filter((i) => !i.startsWith('meshmart.local/'));
    expect(rest.length).to.be.greaterThan(8);
    for (const image of rest) expect(image).to.match(/^registry\.internal\//);
  });

  it('when MESHMART_IMAGE_REGISTRY is set, then it is the registry prefix', () => {
    expect(loadConfig({ MESHMART_IMAGE_REGISTRY: 'registry.internal/mm' }).images).to.deep.equal({
      registry: 'registry.internal/mm',
    });
  });

  it('when an image setting is malformed or unpinned, then the config names each problem', () => {
    expect(() =>
      withImages(defaultConfig(), {
        registry: 'https://registry.example.com/',
        overrides: { 'redis:7.2.5': 'my/redis:latest', 'mongo:7.0.14': 'my/mongo' },
      }),
    ).to.throw(/images\.registry must be .*\n.*'redis:7\.2\.5'.*pinned.*\n.*'mongo:7\.0\.14'.*pinned/s);
    expect(() =>
      withImages(defaultConfig(), { overrides: { 'redis:7.2.5': `my/redis@sha256:${'a'.repeat(64)}` } }),
    ).not.to.throw();
  });
});
