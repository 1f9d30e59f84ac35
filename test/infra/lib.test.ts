import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ADDONS, addonValues, mergeValues, pinnedVersion, placeholders } from '../../infra/lib/addons.ts';
import { MAX_MANIFEST_BYTES, splitBySize } from '../../infra/lib/constructs/app-manifests.ts';
import { EXTERNAL_SECRETS, gatewayApiCrdsChart } from '../../infra/lib/constructs/platform-addons.ts';
import { rdsCaBundle } from '../../infra/lib/constructs/secrets-sync.ts';
import { appMeshCloudMapStatements } from '../../infra/lib/constructs/cloud-map.ts';
import { externalDnsStatements, latticeHostnames } from '../../infra/lib/constructs/lattice-dns.ts';
import { checkEnvironment, ENVIRONMENTS, selectEnvironments } from '../../infra/lib/environments.ts';

describe('infra: environments, add-ons and helpers', () => {
  it('when no environment is named, then all are built; when one is, then only it, retargeted by account and region', () => {
    expect(selectEnvironments({}).map((e) => e.name)).to.deep.equal(ENVIRONMENTS.map((e) => e.name));
    const [dev] = selectEnvironments({ env: 'dev', account: '123456789012', region: 'us-west-2' });
    expect(dev.account).to.equal('123456789012');
    expect(dev.availabilityZones).to.deep.equal(['us-west-2a', 'us-west-2b']);
  });

  it('when the environment or the account is wrong, then the error names the fix', () => {
    expect(() => selectEnvironments({ env: 'staging' })).to.throw(
      /use -c env=<dev\|prod\|appmesh\|migration\|cloudmap>/,
    );
    expect(() => selectEnvironments({ env: 'dev', account: '42' })).to.throw(
      /account must be 12 digits.*-c account=/,
    );
  });

  it('when an environment asks for Cloud Map without App Mesh, or names no DNS name, then the error names the fix', () => {
    const env = (name: string) => ENVIRONMENTS.find((e) => e.name === name)!;
    expect(() =>
      checkEnvironment({ ...env('dev'), cloudMap: { namespace: 'meshmart.local', namespaceType: 'http' } }),
    ).to.throw(/cloudMap: profile 'eks-lattice' has no App Mesh; use it with eks-appmesh or migration/);
    expect(() =>
      checkEnvironment({
        ...env('appmesh'),
        cloudMap: { namespace: 'Mesh_Mart', namespaceType: 'dns-private' },
      }),
    ).to.throw(/cloudMap.namespace 'Mesh_Mart' must be a lowercase DNS name/);
    expect(() => checkEnvironment(env('cloudmap'))).to.not.throw();
  });

  it("when the App Mesh controller uses Cloud Map, then it may create services in the one namespace, and write Route 53 records only in a DNS namespace's own zone", () => {
    const namespaceArn = 'arn:aws:servicediscovery:eu-west-1:111122223333:namespace/ns-1';
    const servicesArn = 'arn:aws:servicediscovery:eu-west-1:111122223333:service/*';
    const zone = 'arn:aws:route53:::hostedzone/Z1';
    const http = appMeshCloudMapStatements({ namespaceArn, servicesArn });
    const dns = appMeshCloudMapStatements({ namespaceArn, servicesArn, hostedZoneArn: zone });
    const actions = (sts: typeof http) => sts.flatMap((s) => s.Action);
    expect(actions(http).filter((a) => a.startsWith('route53:'))).to.deep.equal([]);
    expect(dns.filter((s) => s.Action.some((a) => a.startsWith('route53:')))).to.deep.equal([
      {
        Sid: 'CloudMapWriteTheNamespaceRecords',
        Effect: 'Allow',
        Action: ['route53:ChangeResourceRecordSets'],
        Resource: zone,
      },
    ]);
    // Every Cloud Map call of the controller (aws-app-mesh-controller-for-k8s v1.13.3, pkg/cloudmap), no other.
    expect(actions(http).sort()).to.deep.equal(
      [
        'CreateService',
        'DeleteService',
        'DeregisterInstance',
        'GetInstance',
        'GetInstancesHealthStatus',
        'GetOperation',
        'GetService',
        'ListInstances',
        'ListNamespaces',
        'ListServices',
        'RegisterInstance',
        'UpdateInstanceCustomHealthStatus',
      ].map((a) => `servicediscovery:${a}`),
    );
    expect(http.find((s) => s.Action.includes('servicediscovery:CreateService'))!.Resource).to.deep.equal([
      namespaceArn,
      servicesArn,
    ]);
    for (const s of http.filter((x) => x.Resource === '*'))
      expect(s.Action).to.deep.equal(['servicediscovery:ListNamespaces', 'servicediscovery:ListServices']);
  });

  it('when ExternalDNS is granted a zone, then only ListHostedZones is on *, and changes are CNAME and TXT records of that zone', () => {
    const zone = 'arn:aws:route53:::hostedzone/Z1';
    const statements = externalDnsStatements(zone);
    expect(statements.filter((s) => s.Resource === '*').flatMap((s) => s.Action)).to.deep.equal([
      'route53:ListHostedZones',
    ]);
    expect(statements.filter((s) => s.Resource !== '*').every((s) => s.Resource === zone)).to.equal(true);
    expect(
      statements.find((s) => s.Action.includes('route53:ChangeResourceRecordSets'))!.Condition,
    ).to.deep.equal({
      'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME', 'TXT'] },
    });
  });

  it('when an HTTPRoute hostname is outside the Lattice domain, then the zone is refused, naming the hostname', () => {
    const route = (hostnames: string[]) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r', namespace: 'meshmart' },
      spec: { hostnames },
    });
    expect(
      latticeHostnames([route(['b.meshmart.internal']), route(['a.meshmart.internal'])], 'meshmart.internal'),
    ).to.deep.equal(['a.meshmart.internal', 'b.meshmart.internal']);
    expect(() => latticeHostnames([route(['orders.example.com'])], 'meshmart.internal')).to.throw(
      /orders\.example\.com are not under 'meshmart\.internal'/,
    );
  });

  it('when an add-on is installed, then its version is the one its README installs', () => {
    for (const addon of [...Object.values(ADDONS), EXTERNAL_SECRETS]) {
      const readme = readFileSync(
        new URL(`../../charts/addons/${addon.folder}/README.md`, import.meta.url),
        'utf8',
      );
      expect(readme, addon.folder).to.include(`--version ${pinnedVersion(addon)}`);
    }
    expect(pinnedVersion(ADDONS.appMeshController)).to.equal('1.13.3');
  });

  it('when a pinned placeholder is not overridden, then addonValues refuses, naming the key', () => {
    expect(
      placeholders({ a: { b: '<aws-region>', c: ['x', 'arn:aws:iam::<aws-account-id>:role/r'] } }),
    ).to.deep.equal(['a.b', 'a.c[1]']);
    expect(() => addonValues(ADDONS.appMeshController, {})).to.throw(
      /placeholders left .* at region, accountId/,
    );
    expect(mergeValues({ a: { b: 1, c: 2 } }, { a: { c: 3 } })).to.deep.equal({ a: { b: 1, c: 3 } });
  });

  it('when a chart is too large for one manifest, then it is split in order, each part under the limit', () => {
    const objects = Array.from({ length: 10 }, (_, i) => ({ i, pad: 'x'.repeat(30_000) }));
    const parts = splitBySize(objects, MAX_MANIFEST_BYTES);
    expect(parts.length).to.be.above(1);
    expect(parts.flat()).to.deep.equal(objects);
    for (const p of parts) expect(JSON.stringify(JSON.stringify(p)).length).to.be.below(MAX_MANIFEST_BYTES);
    expect(() => splitBySize([{ pad: 'x'.repeat(MAX_MANIFEST_BYTES) }], MAX_MANIFEST_BYTES)).to.throw(
      /split it/,
    );
  });

  it("when the RDS CA bundle is built for a region, then it holds only that region's valid root CAs", () => {
    const pems =
      rdsCaBundle('eu-west-1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    expect(pems.length).to.be.at.least(1);
    for (const pem of pems) {
      const cert = new X509Certificate(pem);
      expect(cert.subject).to.include('Amazon RDS eu-west-1 Root CA');
      expect(new Date(cert.validTo).getTime()).to.be.above(Date.now());
    }
    expect(() => rdsCaBundle('xx-nowhere-1')).to.throw(/no valid Amazon RDS root CA/);
  });

  it('when the Gateway API CRDs are packaged, then the chart holds the vendored files byte for byte', () => {
    const dir = gatewayApiCrdsChart();
    expect(readFileSync(`${dir}/Chart.yaml`, 'utf8')).to.match(/^version: 1\.6\.1$/m);
    const vendored = new URL(
      '../../cdk8s/crds/gateway-api/gateway.networking.k8s.io_httproutes.yaml',
      import.meta.url,
    );
    expect(readFileSync(`${dir}/templates/gateway.networking.k8s.io_httproutes.yaml`)).to.deep.equal(
      readFileSync(vendored),
    );
  });
});
