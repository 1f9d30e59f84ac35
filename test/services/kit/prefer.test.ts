import { expect } from 'chai';
import { preferredWait } from '@meshmart/kit';

describe('preferredWait (Prefer: wait, RFC 7240)', () => {
  it('when the header asks to wait, then the seconds come back, capped at the bound', () => {
    expect(preferredWait('wait=5', 20)).to.equal(5);
    expect(preferredWait('respond-async, wait=100', 20)).to.equal(20);
    expect(preferredWait('WAIT = "7"', 20)).to.equal(7);
    expect(preferredWait(['handling=lenient', 'wait=2'], 20)).to.equal(2);
    expect(preferredWait('wait=0', 20)).to.equal(0);
  });

  it('when the header is absent or says something else, then there is no wait', () => {
    expect(preferredWait(undefined, 20)).to.equal(undefined);
    expect(preferredWait('return=minimal', 20)).to.equal(undefined);
    expect(preferredWait('wait=soon', 20)).to.equal(undefined);
    expect(preferredWait('wait=-1', 20)).to.equal(undefined);
    expect(preferredWait('wait=1.5', 20)).to.equal(undefined);
    expect(preferredWait('maxwait=5', 20)).to.equal(undefined);
  });
});
