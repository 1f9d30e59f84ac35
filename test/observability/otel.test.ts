import { readFileSync } from 'node:fs';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { parse } from 'yaml';
import { startTracing, type Tracing } from '@meshmart/kit';
import { defaultConfig } from '@meshmart/cdk8s/config.ts';
import { buildProfile } from '@meshmart/cdk8s/profiles/index.ts';
import { profileObjects } from '@meshmart/cdk8s/synth.ts';
import { ROOT } from '../../scripts/system.ts';

interface Collector {
  receivers: Record<string, { protocols?: { http?: { endpoint?: string } } }>;
  processors: Record<string, unknown>;
  exporters: Record<string, Record<string, unknown>>;
  extensions?: Record<string, unknown>;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
  };
}

type K8sObject = {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: any;
  data?: Record<string, string>;
};
const objects = (profile: 'kind' | 'eks-lattice'): K8sObject[] =>
  profileObjects(buildProfile(profile)) as unknown as K8sObject[];

describe('otel: the collector configurations and the X-Ray trace ids', () => {
  const obs = defaultConfig().observability;

  for (const [profile, file, exporter] of [
    ['kind', 'collector-kind.yaml', 'otlphttp/jaeger'],
    ['eks-lattice', 'collector-eks.yaml', 'awsxray'],
  ] as const) {
    it(`when ${profile} runs ${file}, then its traces pipeline takes OTLP/HTTP on the services' port and exports to ${exporter}`, () => {
      const text = readFileSync(`${ROOT}observability/otel/${file}`, 'utf8');
      const c = parse(text) as Collector;
      const p = c.service.pipelines.traces;
      expect(p.exporters).to.deep.equal([exporter]);
      for (const r of p.receivers) expect(c.receivers).to.have.property(r);
      for (const x of p.processors) expect(c.processors).to.have.property(x);
      for (const e of p.exporters) expect(c.exporters).to.have.property(e);
      for (const e of c.service.extensions ?? []) expect(c.extensions).to.have.property(e);
      expect(c.receivers.otlp.protocols?.http?.endpoint).to.equal(`0.0.0.0:${obs.otelPort}`);
      // The Deployment mounts this very file and sets every ${env:...} it reads.
      const all = objects(profile);
      const cm = all.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${obs.otelService}-config`)!;
      expect(cm.data!['collector.yaml']).to.equal(text);
      const d = all.find((o) => o.kind === 'Deployment' && o.metadata.name === obs.otelService)!;
      expect(d.metadata.namespace).to.equal(obs.otelNamespace);
      const container = d.spec.template.spec.containers[0];
      const env = new Map((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
      for (const [, name] of text.matchAll(/\$\{env:(\w+)\}/g))
        expect(env.get(name), name).to.be.a('string').and.not.equal('');
      expect(container.ports.map((x: { containerPort: number }) => x.containerPort)).to.include(obs.otelPort);
      const svc = all.find((o) => o.kind === 'Service' && o.metadata.name === obs.otelService)!;
      expect(svc.spec.ports.map((x: { port: number }) => x.port)).to.include(obs.otelPort);
      if (profile === 'kind') {
        const jaeger = all.find((o) => o.kind === 'Service' && o.metadata.name === 'jaeger')!;
        expect(env.get('JAEGER_OTLP_ENDPOINT')).to.equal(
          `http://jaeger.${jaeger.metadata.namespace}.svc.cluster.local:4318`,
        );
      } else {
        const sa = all.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === obs.otelService)!;
        expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).to.match(
          /^arn:aws:iam::\d{12}:role\//,
        );
        expect(d.spec.template.spec.serviceAccountName).to.equal(obs.otelService);
      }
    });
  }

  describe('when the kit traces in xray mode (the EKS profiles set TRACING=xray)', () => {
    let tracing: Tracing | undefined;
    afterEach(async () => {
      await tracing?.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    });

    it('then trace ids start with the current epoch seconds, which the awsxray exporter requires, and X-Ray headers are injected', async () => {
      const exporter = new InMemorySpanExporter();
      tracing = await startTracing({ service: 'xray-test', mode: 'xray', sampleRatio: 1, exporter });
      const before = Math.floor(Date.now() / 1000);
      const span = trace.getTracer('t').startSpan('x');
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), span), carrier);
      span.end();
      const id = span.spanContext().traceId;
      const epoch = parseInt(id.slice(0, 8), 16);
      expect(epoch).to.be.within(before, Math.ceil(Date.now() / 1000));
      expect(carrier['x-amzn-trace-id']).to.equal(
        `Root=1-${id.slice(0, 8)}-${id.slice(8)};Parent=${span.spanContext().spanId};Sampled=1`,
      );
      expect(carrier.traceparent).to.match(new RegExp(`^00-${id}-`));
    });
  });
});
