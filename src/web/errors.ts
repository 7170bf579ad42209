import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { innermostMessage } from '../common/failures';
import { INVALID_INPUT } from '../common/params';

/** An answer the API gives on purpose, with its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Limits the multipart plugin enforces, put in the terms a person sending photos understands. */
export interface LimitMessages {
  maxBytes: number;
  maxFiles: number;
}

/**
 * Every failure as `{status, error}`: the message is the innermost one, as `npm run photo` prints it, so the page,
 * the API and the CLI say the same thing about the same mistake.
 */
export function describeError(err: unknown, limits: LimitMessages): { status: number; error: string } {
  if (err instanceof HttpError) return { status: err.status, error: err.message };
  if (err instanceof ApplicationFailure && err.type === INVALID_INPUT) return { status: 400, error: err.message };
  if (err instanceof WorkflowNotFoundError) return { status: 404, error: `no run with ID ${err.workflowId}` };
  if (err instanceof WorkflowExecutionAlreadyStartedError) return { status: 409, error: err.message };
  // A refused review decision: the run's own words (not waiting, already decided, bad name).
  if (err instanceof WorkflowUpdateFailedError) return { status: 409, error: innermostMessage(err) };
  if (err instanceof WorkflowFailedError) return { status: 409, error: `run failed: ${innermostMessage(err)}` };
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return { status: 413, error: `expected each photo to be at most ${limits.maxBytes} bytes (maxBytes)` };
    case 'FST_FILES_LIMIT':
      return { status: 413, error: `expected at most ${limits.maxFiles} photos in one upload` };
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return { status: 413, error: 'too many form fields in one upload' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, error: 'the request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { status: 415, error: (err as Error).message };
  }
  const status = (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, error: (err as Error).message };
  return { status: 500, error: innermostMessage(err).split('\n')[0] };
}
