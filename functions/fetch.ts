import { createLambdaHandler, createStreamingLambdaHandler, streamify } from '../shared/api/lambda';

/** Fetch: binary batches, decoded records and the multi-partition long poll (the routes of the route table whose function is "fetch"). */
export const handler = createLambdaHandler('fetch');

/** The same routes behind a function URL in RESPONSE_STREAM mode (the `functionUrls` data path). */
export const streamHandler = streamify(createStreamingLambdaHandler('fetch'));
