import { runService } from '@meshmart/kit';
import { definition } from './service.ts';

await runService(definition);
