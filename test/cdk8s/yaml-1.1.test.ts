import { expect } from 'chai';
import { parse } from 'yaml';
import { toYaml } from '@meshmart/cdk8s/synth.ts';

describe('synthesized YAML', () => {
  describe('when a string looks like a YAML 1.1 boolean or number (Redis args "yes"/"no")', () => {
    it('then it is quoted, so kubectl and Helm (YAML 1.1 readers) still read a string', () => {
      const object = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'x' },
        data: { a: 'yes', b: 'no', c: 'on', d: 'off', e: 'y', f: 'n', g: '0x1f', h: '1_000' },
      };
      const text = toYaml([object]);
      expect(parse(text, { version: '1.1' })).to.deep.equal(object);
      expect(text).to.match(/a: "yes"/);
    });
  });
});
