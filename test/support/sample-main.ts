// A service main.ts built with the kit, for tests that run it as a real process (signals, exit codes).
import { int, runService } from '@meshmart/kit';

await runService({
  service: 'sample',
  defaultPort: 0,
  settings: { extraWorkers: int({ env: 'SAMPLE_WORKERS', default: 1, min: 1, doc: 'test-only setting' }) },
  build: async (kit) => {
    const { sampleApp } = await import('./sample-app.ts');
    const { app } = sampleApp({ kit });
    return {
      app,
      closers: [
        {
          name: 'store',
          close: () => {
            kit.logger.info('store closed');
            return Promise.resolve();
          },
        },
      ],
    };
  },
});
