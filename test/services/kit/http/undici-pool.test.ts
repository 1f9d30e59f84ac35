import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as undici from 'undici';
import requestFrom from 'undici/lib/api/api-request.js';
import { bundleServices } from '../../../../scripts/build-images.ts';
import { Pool } from '../../../../services/kit/src/http/undici-pool.ts';

// The kit loads undici's Pool and `request` by path instead of undici's index (services/kit/src/http/undici-pool.ts):
// these are the checks that an undici upgrade has not moved or replaced them, and that a bundle of the kit's client
// carries the two and not the rest of undici.
describe("kit http: undici's Pool without undici's index", () => {
  it('when undici-pool.ts loads the Pool by path, then it is the Pool undici exports', () => {
    expect(Pool).to.equal(undici.Pool);
  });

  it("when undici's index is loaded, then the request it puts on every pool is the one loaded by path", () => {
    const onEveryPool: unknown = Reflect.get(undici.Pool.prototype, 'request');
    expect(onEveryPool).to.equal(requestFrom);
  });

  it("when the kit's HTTP client is bundled, then undici's other dispatchers, fetch and mocks are not in it", async function () {
    this.timeout(60_000);
    const out = mkdtempSync(join(tmpdir(), 'meshmart-undici-pool-'));
    try {
      await bundleServices({
        services: [],
        entries: { client: 'services/kit/src/http/index.ts' },
        outDir: out,
        minify: false,
      });
      const code = readdirSync(out)
        .filter((f) => f.endsWith('.mjs'))
        .map((f) => readFileSync(join(out, f), 'utf8'))
        .join('\n');
      // keepNames: every class keeps its name as `__name(this, "<name>")`.
      expect(code, 'the Pool').to.include('__name(this, "Pool")');
      for (const absent of ['Agent', 'EnvHttpProxyAgent', 'MockAgent', 'WebSocket', 'EventSource'])
        expect(code, absent).not.to.include(`__name(this, "${absent}")`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
