import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

/**
 * History <-> the JSON of `temporal workflow show -o json`, which Worker.runReplayHistories also accepts.
 *
 * Not @temporalio/common's historyToJSON/historyFromJSON: in this install they throw "type must be a Type". The
 * SDK packages need protobufjs 8 while @grpc/proto-loader needs 7, so npm gives @temporalio/common and
 * @temporalio/proto each their own copy of protobufjs 8, and common's `instanceof Type` check rejects the types of
 * proto's copy. (Worker.runReplayHistories converts JSON histories with that same function, so it is handed
 * decoded History objects instead.) These use the protobufjs copy that @temporalio/proto itself was built with.
 */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}
// A module found at run time next to @temporalio/proto's own copy of protobufjs: only require() can load it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const protoJson = require(
  require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto'))] }),
) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

/** One event per line: small files whose diffs still show which events changed. */
export function historyToJson(history: History): string {
  const json = protoJson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)) as {
    events: unknown[];
  };
  return `{"events": [\n${json.events.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`;
}

export function historyFromJson(json: unknown): History {
  // Unknown fields: a history recorded by a newer server may carry fields this SDK does not know.
  return protoJson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
