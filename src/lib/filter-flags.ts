import { filterCatalog, filterNames, isFilterName } from '../common/filter-catalog';
import { coerce, describeParams, type ParamSpecs } from '../common/params';
import type { FilterStep } from '../common/types';

/**
 * Parses a `--filter` flag: `name` or `name:key=value,key=value`. A comma only separates parameters when a
 * `key=` follows it, so `watermark:text=Hello, world` keeps its comma. Numbers and booleans are typed by the
 * filter's parameter specs, so the workflow input reads `"width": 1080`; ranges are checked by the filter itself.
 */
export function parseFilterFlag(flag: string): FilterStep {
  const colon = flag.indexOf(':');
  const filter = (colon < 0 ? flag : flag.slice(0, colon)).trim();
  if (!filter) throw new Error(`--filter: expected name or name:key=value,..., received ${JSON.stringify(flag)}`);
  if (colon < 0) return { filter };
  const specs: ParamSpecs = isFilterName(filter) ? filterCatalog[filter].params : {};
  const params: Record<string, unknown> = {};
  for (const pair of flag.slice(colon + 1).split(/,(?=\s*[A-Za-z]\w*=)/)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--filter ${filter}: expected key=value, received ${JSON.stringify(pair)}`);
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1);
    params[name] = Object.hasOwn(specs, name) ? coerce(specs[name], value) : value;
  }
  return { filter, params };
}

/** Every filter with its parameters, from the same catalog the services validate with. */
export function filterHelp(): string {
  return filterNames
    .map((name) => {
      const spec = filterCatalog[name];
      const params = describeParams(spec.params).map((line) => `      ${line}`);
      return [`  ${name}: ${spec.summary}`, ...params].join('\n');
    })
    .join('\n');
}
