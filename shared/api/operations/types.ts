import type { ApiRequest, ApiResponse } from '../http';
import type { Services } from '../services';

/** One route's work: a validated request in, a response out. Thrown SluiceErrors become error responses. */
export type Operation = (req: ApiRequest, services: Services) => Promise<ApiResponse>;
