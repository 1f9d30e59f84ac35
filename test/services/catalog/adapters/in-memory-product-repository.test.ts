import { InMemoryProductRepository } from '../../../../services/catalog/src/adapters/in-memory-product-repository.ts';
import { productRepositoryContract } from './product-repository.contract.ts';

productRepositoryContract('in-memory', () =>
  Promise.resolve({ products: new InMemoryProductRepository(), close: () => Promise.resolve() }),
);
