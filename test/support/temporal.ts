import { bundleWorkflowCode, type BundleOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { installQuietRuntime } from '../../src/lib/logging';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { PHOTO_SEARCH_ATTRIBUTES } from '../../src/common/search-attributes';
import { provisionTemporalCli } from '../../src/provision/temporal-cli';
import { provisionTestServer } from '../../src/provision/test-server';
import { workflowsPath } from '../../src/lib/paths';

/**
 * The one place tests get Temporal: servers come from the project's provisioning (the SDK's download where it works,
 * else the registry-built CLI and the Maven test server), on free ports, stopped by the test's teardown.
 */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = await provisionTestServer();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
  });
  // The test server takes no search attributes on its command line; the workflow upserts them, so register them.
  const { IndexedValueType } = temporal.api.enums.v1;
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      PHOTO_SEARCH_ATTRIBUTES.map((key) => [
        key.name,
        IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}` as keyof typeof IndexedValueType],
      ]),
    ),
  });
  return env;
}

export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  const path = await provisionTemporalCli();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      searchAttributes: PHOTO_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
}

// Test output shows warnings and errors only.
installQuietRuntime();
const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * Workflow code bundled once per test process (bundling takes seconds); the project's own by default. With
 * `sdk`, every `import ... from '@temporalio/workflow'` in the bundle gets that module instead (mutants).
 */
export function workflowBundle(path = workflowsPath, sdk?: string): Promise<WorkflowBundleWithSourceMap> {
  const key = `${path}|${sdk ?? ''}`;
  if (!bundles.has(key)) {
    const webpackConfigHook: BundleOptions['webpackConfigHook'] = (config) =>
      sdk
        ? {
            ...config,
            resolve: { ...config.resolve, alias: { ...config.resolve?.alias, '@temporalio/workflow$': sdk } },
          }
        : config;
    bundles.set(key, bundleWorkflowCode({ workflowsPath: path, logger: quietLogger, webpackConfigHook }));
  }
  return bundles.get(key)!;
}
