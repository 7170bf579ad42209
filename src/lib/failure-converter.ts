import { DefaultFailureConverter } from '@temporalio/common';

/**
 * With payload encryption on, failures' messages and stack traces (which name paths and URLs) travel as an encoded
 * payload rather than as plain text. Loaded by path (dataConverter.failureConverterPath) by workers, clients and
 * the workflow bundle alike, so it imports the SDK only.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
