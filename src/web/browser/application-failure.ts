/**
 * Stands in for @temporalio/common in the pages' bundle (see src/web/browser-assets.ts): the workflow-safe core
 * only creates ApplicationFailures, and a page only shows their message.
 */
export class ApplicationFailure extends Error {
  constructor(
    message: string,
    readonly type: string,
    readonly nonRetryable: boolean,
  ) {
    super(message);
  }

  static nonRetryable(message: string, type: string): ApplicationFailure {
    return new ApplicationFailure(message, type, true);
  }
}
