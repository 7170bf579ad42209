/** Blob store and object stores: the drivers (a folder, S3) and the stores built on them. */
export * from './types';
export * from './settings';
export * from './content-addressed';
export * from './file-store';
export * from './s3-store';
export * from './open-store';
export * from './s3-buckets';
