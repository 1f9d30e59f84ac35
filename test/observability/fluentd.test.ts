import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { buildProfile } from '@meshmart/cdk8s/profiles/index.ts';
import { profileObjects } from '@meshmart/cdk8s/synth.ts';
import { LOGGING_NAMESPACE } from '@meshmart/cdk8s/constructs/observability/stack.ts';
import { ROOT } from '../../scripts/system.ts';
import { checkoutOnce, startObservedSystem } from './traces-system.ts';

// The Fluentd configuration (observability/fluentd/) checked against real lines: the services' own stdout during a
// checkout and a real crash on stderr, wrapped in the CRI log format the kubelet writes, then walked through the
// configuration's pipeline. Every field a directive parses or filters on, every regexp and glob, is read from the
// configuration file itself, so editing the configuration re-targets the test.

// ---------------------------------------------------------------------------------------------------------------------
// A small reader of Fluentd's configuration syntax: directives, parameters, @include.

interface Directive {
  readonly name: string;
  readonly arg: string;
  readonly params: Map<string, string>;
  readonly children: Directive[];
}

function parseConfig(file: string): Directive {
  const root: Directive = { name: 'root', arg: '', params: new Map(), children: [] };
  const stack = [root];
  const read = (name: string): void => {
    for (const raw of readFileSync(`${ROOT}observability/fluentd/${name}`, 'utf8').split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const top = stack[stack.length - 1];
      const include = /^@include\s+(\S+)$/.exec(line);
      if (include) {
        read(include[1]);
        continue;
      }
      const close = /^<\/(\w+)>$/.exec(line);
      if (close) {
        expect(top.name, `${name}: </${close[1]}> closes <${top.name}>`).to.equal(close[1]);
        stack.pop();
        continue;
      }
      const open = /^<(\w+)\s*([^>]*)>$/.exec(line);
      if (open) {
        const d: Directive = { name: open[1], arg: open[2].trim(), params: new Map(), children: [] };
        top.children.push(d);
        stack.push(d);
        continue;
      }
      const param = /^(@?[\w]+)\s+(.*)$/.exec(line);
      expect(param, `${name}: cannot read '${line}'`).to.not.equal(null);
      top.params.set(param![1], param![2]);
    }
  };
  read(file);
  expect(stack, `${file}: unclosed <${stack.at(-1)?.name}>`).to.have.length(1);
  return root;
}

const find = (d: Directive, name: string, type?: string): Directive[] =>
  d.children.filter((c) => c.name === name && (type === undefined || c.params.get('@type') === type));
const one = (d: Directive, name: string, type?: string): Directive => {
  const found = find(d, name, type);
  expect(found, `<${name}${type ? ` @type ${type}` : ''}> in <${d.name} ${d.arg}>`).to.have.length(1);
  return found[0];
};
const param = (d: Directive, key: string): string => {
  const v = d.params.get(key);
  expect(v, `<${d.name} ${d.params.get('@type') ?? d.arg}> has no ${key}`).to.be.a('string');
  return v!;
};
const unquote = (v: string): string => v.replace(/^(['"])(.*)\1$/, '$2');
/** A Ruby regexp literal `/.../` (or a quoted string) as a JS RegExp; what the config uses is common to both. */
const regexp = (v: string): RegExp => {
  const m = /^\/(.*)\/$/.exec(v);
  return new RegExp(m ? m[1] : unquote(v));
};
/** A glob of in_tail's path: `*` within a file name. */
const glob = (g: string): RegExp =>
  new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
/** A record_accessor path: `$.a.b` or `$['a']['b']`. */
function accessor(path: string): string[] {
  if (path.startsWith('$[')) return [...path.matchAll(/\['([^']+)'\]/g)].map((m) => m[1]);
  if (path.startsWith('$.')) return path.slice(2).split('.');
  return [path];
}
const get = (record: Record<string, unknown>, keys: readonly string[]): unknown =>
  keys.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    record,
  );
/** A strptime format as a RegExp (the conversions the config uses). */
function strptime(format: string): RegExp {
  const conv: Record<string, string> = {
    Y: '\\d{4}',
    m: '\\d{2}',
    d: '\\d{2}',
    H: '\\d{2}',
    M: '\\d{2}',
    S: '\\d{2}',
    L: '\\d{3}',
  };
  let out = '';
  for (let i = 0; i < format.length; i++) {
    if (format[i] === '%') {
      const c = format[++i];
      expect(conv, `time_format conversion %${c}`).to.have.property(c);
      out += conv[c];
    } else out += format[i].replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Real lines, wrapped as the container runtime writes them.

interface Printed {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}
/** `<RFC 3339 nano time> <stream> <P|F> <text>`, parts of at most `max` bytes (containerd: 16 KiB). */
function cri(lines: readonly Printed[], max = 16 * 1024): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const time = new Date().toISOString().replace('Z', '123456Z');
    const parts = l.text.match(new RegExp(`[^]{1,${max}}`, 'g')) ?? [''];
    parts.forEach((p, i) => out.push(`${time} ${l.stream} ${i === parts.length - 1 ? 'F' : 'P'} ${p}`));
  }
  return out;
}

/** A service that cannot reach Redis crashes, printing a multi-line stack trace on stderr. */
function crashOutput(): Promise<Printed[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/cart/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const printed: Printed[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      let rest = '';
      child[stream].on('data', (chunk: Buffer) => {
        const split = (rest + chunk.toString('utf8')).split('\n');
        rest = split.pop() ?? '';
        for (const text of split) printed.push({ stream, text });
      });
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(printed);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------------

type Rec = Record<string, unknown>;
interface Event {
  readonly tag: string;
  record: Rec;
}

describe('fluentd: the configuration holds for the lines the services really print', function () {
  this.timeout(600_000);
  const eks = parseConfig('fluent.conf');
  const kind = parseConfig('kind.conf');
  const objects = profileObjects(buildProfile('kind')) as unknown as {
    kind: string;
    metadata: { name: string; namespace?: string };
    spec: any;
  }[];
  let system: Printed[] = [];
  let crash: Printed[] = [];

  before(async () => {
    const observed = await startObservedSystem({ LOG_LEVEL: 'debug', TRACING: 'w3c' });
    try {
      await checkoutOnce(observed.system, { paymentToken: 'tok_decline' });
      await checkoutOnce(observed.system);
    } finally {
      await observed.close();
    }
    system = observed.lines.map((l) => ({ stream: 'stdout' as const, text: l.line }));
    crash = await crashOutput();
  });

  /** The kubelet's file name of a pod's container log, for every workload of the kind profile. */
  function logFiles(): { file: string; namespace: string; pod: string; container: string; labels: Rec }[] {
    return objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet' || o.kind === 'StatefulSet')
      .map((o) => {
        const pod = `${o.metadata.name}-${o.kind === 'Deployment' ? '5d8f9c7b6d-' : ''}x7k2p`;
        const container = o.spec.template.spec.containers[0].name as string;
        const namespace = o.metadata.namespace!;
        const id = randomBytes(32).toString('hex');
        return {
          file: `/var/log/containers/${pod}_${namespace}_${container}-${id}.log`,
          namespace,
          pod,
          container,
          labels: o.spec.template.metadata.labels as Rec,
        };
      });
  }

  it('when the configuration is read, then kind and EKS share the pipeline and differ only in the output', () => {
    for (const c of [eks, kind]) {
      one(c, 'source', 'tail');
      expect(find(c, 'label').map((l) => l.arg)).to.deep.equal(['@CONTAINERS', '@KUBERNETES', '@OUTPUT']);
    }
    const outputs = (c: Directive) => find(c, 'label').find((l) => l.arg === '@OUTPUT')!;
    expect(one(outputs(eks), 'match').params.get('@type')).to.equal('cloudwatch_logs');
    expect(one(outputs(kind), 'match').params.get('@type')).to.equal('stdout');
  });

  it('when the kubelet names container log files, then the tail path reads the services and skips Fluentd itself', () => {
    const tail = one(eks, 'source', 'tail');
    const path = glob(param(tail, 'path'));
    const excludes = (JSON.parse(param(tail, 'exclude_path')) as string[]).map(glob);
    const files = logFiles();
    const own = files.filter((f) => f.namespace === LOGGING_NAMESPACE && f.pod.startsWith('fluentd-'));
    expect(own, 'the Fluentd DaemonSet of the kind profile').to.have.length(1);
    for (const f of files) {
      expect(path.test(f.file), f.file).to.equal(true);
      expect(
        excludes.some((e) => e.test(f.file)),
        `excluded: ${f.file}`,
      ).to.equal(own.includes(f));
    }
    expect(param(one(tail, 'parse'), '@type')).to.equal('cri');
  });

  it('when real lines go through the pipeline, then every field it reads is there with its type, and trace ids survive', () => {
    expect(system.length, 'lines printed by the services').to.be.greaterThan(20);
    const root = eks;
    const tail = one(root, 'source', 'tail');
    const labels = new Map(find(root, 'label').map((l) => [l.arg, l]));
    const service = logFiles().find((f) => f.container === 'checkout' && f.namespace === 'meshmart')!;
    expect(service, 'the checkout Deployment').to.not.equal(undefined);
    const tag = param(tail, 'tag').replace('*', service.file.slice(1).replaceAll('/', '.'));

    // in_tail + <parse @type cri>: what the CRI parser yields for each line (its own fixed format).
    const CRI = /^(\S+) (stdout|stderr) ([FP]) (.*)$/;
    const input = [...cri(system), ...cri(crash), ...cri(system.slice(0, 20), 64)];
    let events: Event[] = input.map((line) => {
      const m = CRI.exec(line);
      expect(m, line).to.not.equal(null);
      return { tag, record: { time: m![1], stream: m![2], logtag: m![3], message: m![4] } };
    });
    const seen = new Set<string>();
    const needString = (e: Event, field: string | string[], where: string): string => {
      const keys = typeof field === 'string' ? [field] : field;
      const v = get(e.record, keys);
      expect(v, `${where}: ${keys.join('.')} in ${JSON.stringify(e.record).slice(0, 300)}`).to.be.a('string');
      seen.add(keys.join('.'));
      return v as string;
    };

    const run = (label: Directive): void => {
      for (const d of label.children) {
        if (d.name === 'match') {
          if (d.params.get('@type') === 'relabel') return run(labels.get(param(d, '@label'))!);
          return output(d);
        }
        const type = param(d, '@type');
        const where = `filter ${d.params.get('@id') ?? type}`;
        if (type === 'concat') events = concat(d, where);
        else if (type === 'kubernetes_metadata') {
          const re = new RegExp(unquote(param(d, 'tag_to_kubernetes_name_regexp')));
          for (const e of events) {
            const m = re.exec(e.tag);
            expect(m?.groups, `${where}: tag ${e.tag}`).to.include({
              pod_name: service.pod,
              namespace: service.namespace,
              container_name: service.container,
            });
            e.record.kubernetes = {
              pod_name: m!.groups!.pod_name,
              namespace_name: m!.groups!.namespace,
              container_name: m!.groups!.container_name,
              labels: service.labels,
            };
          }
        } else if (type === 'grep') {
          for (const r of find(d, 'regexp')) {
            const keys = accessor(param(r, 'key'));
            const pattern = regexp(param(r, 'pattern'));
            for (const e of events)
              expect(pattern.test(needString(e, keys, where)), `${where}`).to.equal(true);
          }
          for (const x of find(d, 'exclude')) {
            const keys = accessor(param(x, 'key'));
            const pattern = regexp(param(x, 'pattern'));
            const json = events.filter(
              (e) => get(e.record, keys) !== undefined || e.record.service !== undefined,
            );
            const dropped = json.filter((e) => pattern.test(needString(e, keys, where)));
            // It drops exactly the debug lines and keeps info and above.
            expect(dropped.map((e) => e.record.level)).to.not.include.members([
              'info',
              'warn',
              'error',
              'fatal',
            ]);
            expect(dropped, `${where} drops something`).to.not.be.empty;
            events = events.filter((e) => !dropped.includes(e));
          }
        } else if (type === 'parser') {
          const key = param(d, 'key_name');
          const parse = one(d, 'parse');
          expect(param(parse, '@type')).to.equal('json');
          const timeKey = param(parse, 'time_key');
          const time = strptime(param(parse, 'time_format'));
          let parsed = 0;
          for (const e of events) {
            const text = needString(e, key, where);
            let json: Rec;
            try {
              json = JSON.parse(text) as Rec;
            } catch {
              // Not JSON (a stack trace): kept as it is (emit_invalid_record_to_error false).
              expect(e.record.stream, `${where}: a non-JSON line on stdout: ${text}`).to.equal('stderr');
              continue;
            }
            parsed++;
            expect(needString({ tag, record: json }, timeKey, where), `${where}: ${timeKey}`).to.match(time);
            if (param(d, 'remove_key_name_field') === 'true') delete e.record[key];
            e.record = param(d, 'reserve_data') === 'true' ? { ...e.record, ...json } : json;
          }
          expect(parsed, 'JSON lines').to.be.greaterThan(20);
        } else if (type === 'record_transformer') {
          const rec = one(d, 'record');
          for (const [field, template] of rec.params) {
            for (const e of events) {
              const value = template.replace(/\$\{record\.dig\(([^)]*)\)\}/g, (_m, args: string) =>
                needString(
                  e,
                  [...args.matchAll(/"([^"]+)"/g)].map((a) => a[1]),
                  where,
                ),
              );
              expect(value, `${where}: ${field}`).to.not.match(/\$\{/);
              e.record[field] = value;
            }
          }
        } else expect.fail(`${where}: a filter type the test does not know (${type}); teach it`);
      }
    };
    const concat = (d: Directive, where: string): Event[] => {
      const key = param(d, 'key');
      const out: Event[] = [];
      if (d.params.get('use_partial_cri_logtag') === 'true') {
        const logtag = param(d, 'partial_cri_logtag_key');
        const stream = param(d, 'partial_cri_stream_key');
        const open = new Map<string, Event>();
        for (const e of events) {
          const s = needString(e, stream, where);
          const t = needString(e, logtag, where);
          expect(['P', 'F']).to.include(t);
          const prev = open.get(s);
          if (prev)
            prev.record[key] =
              `${needString(prev, key, where)}${unquote(param(d, 'separator'))}${needString(e, key, where)}`;
          else needString(e, key, where);
          const cur = prev ?? e;
          if (t === 'P') open.set(s, cur);
          else {
            open.delete(s);
            out.push(cur);
          }
        }
        expect(open.size, `${where}: a P part without its F`).to.equal(0);
        return out;
      }
      const start = regexp(param(d, 'multiline_start_regexp'));
      const cont = regexp(param(d, 'continuous_line_regexp'));
      const streamKey = param(d, 'stream_identity_key');
      const buffers = new Map<string, Event>();
      const separator = JSON.parse(param(d, 'separator')) as string;
      for (const e of events) {
        const s = needString(e, streamKey, where);
        const text = needString(e, key, where);
        const buffered = buffers.get(s);
        if (start.test(text)) {
          if (buffered) out.push(buffered);
          buffers.set(s, e);
        } else if (cont.test(text) && buffered)
          buffered.record[key] = `${needString(buffered, key, where)}${separator}${text}`;
        else {
          if (buffered) out.push(buffered);
          buffers.delete(s);
          out.push(e);
        }
      }
      out.push(...buffers.values());
      return out;
    };
    const output = (m: Directive): void => {
      const streamKey = m.params.get('log_stream_name_key');
      if (streamKey)
        for (const e of events)
          expect(needString(e, streamKey, 'output')).to.equal(`meshmart/${service.pod}`);
    };
    run(labels.get(param(tail, '@label'))!);

    // Every JSON line of the checkout reached the output whole, trace ids included.
    const json = events.filter((e) => e.record.service !== undefined);
    expect(json.length).to.be.greaterThan(20);
    for (const e of json) {
      expect(e.record.level, JSON.stringify(e.record)).to.be.oneOf(['info', 'warn', 'error', 'fatal']);
      expect(e.record.msg, JSON.stringify(e.record)).to.be.a('string');
      if (e.record.request_id !== undefined) {
        expect(e.record.trace_id, JSON.stringify(e.record)).to.match(/^[0-9a-f]{32}$/);
        expect(e.record.span_id, JSON.stringify(e.record)).to.match(/^[0-9a-f]{16}$/);
      }
    }
    // How many lines carry one depends on timing (a read that found the order not yet placed logs a 404); the
    // declined authorization's 402 is always there.
    const traced = json.filter((e) => e.record.trace_id !== undefined);
    expect(
      traced.some((e) => e.record.service === 'payments' && e.record.status === 402),
      `the declined authorization's line, with its trace id, among ${traced.length} traced lines`,
    ).to.equal(true);
    // The runtime's 64-byte parts were joined back into the exact lines.
    for (const l of system.slice(0, 20)) {
      const rec = JSON.parse(l.text) as Rec;
      if (rec.level === 'debug') continue;
      expect(
        json.filter((e) => e.record.time === rec.time && e.record.msg === rec.msg).length,
      ).to.be.greaterThan(0);
    }
    // The crash's stack trace is one event: its "    at" lines joined to the error line.
    const stack = events.find(
      (e) => typeof e.record.message === 'string' && /\n\s+at connectRedis/.test(e.record.message),
    );
    expect(stack, 'the crash stack trace as one event').to.not.equal(undefined);
    expect(String(stack!.record.message).split('\n')[0]).to.match(/^AppError: redis: cannot connect/);
    expect([...seen].sort()).to.include.members(['level', 'logtag', 'message', 'stream', 'time']);
  });

  it('when the EKS DaemonSet runs the configuration, then every ENV[...] it reads is set and the group is per cluster', () => {
    const text = ['fluent.conf', 'containers.conf']
      .map((f) => readFileSync(`${ROOT}observability/fluentd/${f}`, 'utf8'))
      .join('\n');
    const wanted = [...text.matchAll(/ENV\['(\w+)'\]/g)].map((m) => m[1]);
    expect(wanted).to.include.members(['AWS_REGION', 'CLUSTER_NAME']);
    const ds = (profileObjects(buildProfile('eks-lattice')) as unknown as typeof objects).find(
      (o) => o.kind === 'DaemonSet' && o.metadata.name === 'fluentd',
    )!;
    const env = new Map(
      (ds.spec.template.spec.containers[0].env as { name: string; value: string }[]).map((e) => [
        e.name,
        e.value,
      ]),
    );
    for (const name of wanted) expect(env.get(name), `env ${name}`).to.be.a('string').and.not.equal('');
    const out = one(
      find(eks, 'label').find((l) => l.arg === '@OUTPUT')!,
      'match',
    );
    expect(
      unquote(param(out, 'log_group_name')).replace("#{ENV['CLUSTER_NAME']}", env.get('CLUSTER_NAME')!),
    ).to.equal(`/aws/eks/${env.get('CLUSTER_NAME')}/meshmart`);
    const sa = (
      profileObjects(buildProfile('eks-lattice')) as unknown as { kind: string; metadata: any }[]
    ).find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'fluentd')!;
    expect(sa.metadata.annotations['eks.amazonaws.com/role-arn']).to.match(
      /^arn:aws:iam::\d{12}:role\/\S+fluentd$/,
    );
  });
});
