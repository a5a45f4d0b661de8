import { LocalTransport } from '../../../lib/transport/local-transport.js';
import { transportContract } from './transport-contract.js';

transportContract('local (execa)', async () => new LocalTransport());
