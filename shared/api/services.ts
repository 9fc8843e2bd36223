/** The services behind the API come from the one composition root, shared/app.ts. */
export {
  createServices,
  logTopicMetadata,
  type Services,
  type ServicesOptions,
  servicesFromEnv,
} from '../app';
