import { expect } from 'chai';
import { BoundedMap } from '@meshmart/kit';

describe('BoundedMap', () => {
  it('when more entries are set than it holds, then the least recently used one goes', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    expect(map.get('a')).to.equal(1); // 'b' is now the least recently used
    map.set('c', 3);
    expect(map.get('b')).to.equal(undefined);
    expect(map.get('a')).to.equal(1);
    expect(map.get('c')).to.equal(3);
    expect(map.size).to.equal(2);
  });

  it('when a key is deleted or the capacity is not a positive integer, then it behaves as stated', () => {
    const map = new BoundedMap<string, number>(1);
    map.set('a', 1);
    map.delete('a');
    expect(map.get('a')).to.equal(undefined);
    expect(() => new BoundedMap(0)).to.throw(/capacity must be >= 1/);
  });
});
