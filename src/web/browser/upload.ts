import { filterCatalog, filterNames, parseFilterParams, type FilterName } from '../../common/filter-catalog';
import { validateChain } from '../../common/filter-chain';
import { coerce, parseParams, type ParamSpec, type ParamSpecs } from '../../common/params';
import { validatePhotoRequest, type PhotoRequest } from '../../common/photo-request';
import { parseReviewTimeout } from '../../common/review';
import type { FilterStep } from '../../common/types';
import { SHARE_TARGETS, type ShareTarget } from '../../common/workflow-io';
import { byId, el, kilobytes, showError } from './dom';

/**
 * The upload page. Every check runs the workflow's own code (src/common, bundled for the browser), so a mistake is
 * shown next to its field, in the words the workflow and `npm run photo` use, before anything is sent.
 */

interface Step {
  id: number;
  filter: FilterName;
  /** What the fields hold: text as typed, checkboxes as booleans. */
  values: Record<string, string | boolean>;
}

interface Limits {
  maxBytes: number;
  maxFiles: number;
}

/** Labels for the share targets a person may not know by name; others show their name. */
const TARGET_LABELS: Partial<Record<ShareTarget, string>> = {
  gallery: 'Gallery (this site)',
  webhook: 'Webhook (the chat channel the service is set up for)',
};

let nextId = 1;
let steps: Step[] = [];
let files: File[] = [];
let limits: Limits | undefined;
/** Errors are shown once the user touched the form, not while it is still empty. */
let touched = false;

const specsOf = (filter: FilterName): ParamSpecs => filterCatalog[filter].params as ParamSpecs;

function newStep(filter: FilterName, preset: Record<string, string | boolean> = {}): Step {
  const values: Step['values'] = {};
  for (const [name, spec] of Object.entries(specsOf(filter))) {
    if (spec.type === 'boolean') values[name] = spec.default ?? false;
    else if (spec.type === 'color') values[name] = spec.default ?? '#000000';
    else values[name] = spec.default === undefined ? '' : String(spec.default);
  }
  return { id: nextId++, filter, values: { ...values, ...preset } };
}

/** One parameter as the workflow receives it: typed like the CLI's (`"1080"` → 1080), empty means "the default". */
function paramValue(spec: ParamSpec, raw: string | boolean): unknown {
  if (typeof raw === 'boolean') return raw;
  return raw === '' ? undefined : coerce(spec, raw);
}

function paramsOf(step: Step): Record<string, unknown> | undefined {
  const params: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specsOf(step.filter))) {
    const value = paramValue(spec, step.values[name]);
    if (value !== undefined) params[name] = value;
  }
  return Object.keys(params).length ? params : undefined;
}

const toFilterStep = (step: Step): FilterStep => {
  const params = paramsOf(step);
  return params ? { filter: step.filter, params } : { filter: step.filter };
};

function message(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function selectedTargets(): ShareTarget[] {
  return SHARE_TARGETS.filter((t) => byId<HTMLInputElement>(`target-${t}`).checked);
}

function buildRequest(): PhotoRequest {
  const title = byId<HTMLInputElement>('title').value.trim();
  const review = byId<HTMLInputElement>('review').checked;
  const mode = byId<HTMLSelectElement>('filter-mode').value;
  return {
    filters: steps.map(toFilterStep),
    share: selectedTargets(),
    ...(title ? { title } : {}),
    ...(mode === 'memory' ? { intermediates: 'memory' as const } : {}),
    ...(mode === 'fuse' ? { fuse: true } : {}),
    ...(review ? { review: { timeout: byId<HTMLInputElement>('review-timeout').value.trim() } } : {}),
  };
}

/** Runs every check and puts each message next to its field; true when the request may be sent. */
function validate(): boolean {
  let ok = true;
  const show = (slot: HTMLElement, text: string | undefined) => {
    if (text) ok = false;
    showError(slot, touched ? text : undefined);
  };
  for (const step of steps) {
    let fieldsOk = true;
    for (const [name, spec] of Object.entries(specsOf(step.filter))) {
      const value = paramValue(spec, step.values[name]);
      const text = message(() =>
        parseParams(step.filter, { [name]: spec }, value === undefined ? {} : { [name]: value }),
      );
      if (text) fieldsOk = false;
      show(byId(`step-${step.id}-${name}-error`), text);
    }
    // Rules across parameters (resize needs width or height), once each field is fine on its own.
    show(
      byId(`step-${step.id}-error`),
      fieldsOk ? message(() => parseFilterParams(step.filter, paramsOf(step))) : undefined,
    );
  }
  show(
    byId('chain-error'),
    message(() => validateChain(steps.map(toFilterStep))),
  );
  const reviewing = byId<HTMLInputElement>('review').checked;
  show(
    byId('review-error'),
    reviewing ? message(() => parseReviewTimeout(byId<HTMLInputElement>('review-timeout').value.trim())) : undefined,
  );
  show(byId('files-error'), filesProblem());
  // Whatever the fields above do not cover, in the workflow's words.
  const rest = ok ? message(() => validatePhotoRequest(buildRequest())) : undefined;
  show(byId('form-error'), rest);
  byId<HTMLButtonElement>('send').disabled = !ok || files.length === 0;
  return ok && files.length > 0;
}

function filesProblem(): string | undefined {
  if (!limits) return undefined;
  if (files.length > limits.maxFiles)
    return `expected at most ${limits.maxFiles} photos in one upload, chose ${files.length}`;
  const big = files.find((f) => f.size > limits!.maxBytes);
  if (big)
    return `${big.name}: expected each photo to be at most ${limits.maxBytes} bytes (maxBytes), it has ${big.size}`;
  return undefined;
}

function field(step: Step, name: string, spec: ParamSpec): HTMLElement {
  const id = `step-${step.id}-${name}`;
  const value = step.values[name];
  const range =
    spec.type === 'int' || spec.type === 'number'
      ? `${spec.min} to ${spec.max}`
      : spec.type === 'string'
        ? `up to ${spec.maxLength} characters`
        : '';
  const dflt = spec.default !== undefined ? `default ${spec.default}` : spec.optional ? 'optional' : 'required';
  let input: HTMLInputElement | HTMLSelectElement;
  switch (spec.type) {
    case 'int':
    case 'number':
      input = el('input', {
        type: 'number',
        inputmode: spec.type === 'int' ? 'numeric' : 'decimal',
        min: spec.min,
        max: spec.max,
        step: spec.type === 'int' ? 1 : 'any',
        value: String(value),
        placeholder: spec.default === undefined ? '' : String(spec.default),
      });
      break;
    case 'enum':
      input = el(
        'select',
        {},
        ...(spec.default === undefined
          ? [el('option', { value: '' }, spec.optional ? '(keep as is)' : '(choose)')]
          : []),
        ...spec.values.map((v) => el('option', { value: v, selected: v === value }, v)),
      );
      break;
    case 'boolean':
      input = el('input', { type: 'checkbox', checked: value === true });
      break;
    case 'color':
      input = el('input', { type: 'color', value: String(value) });
      break;
    case 'string':
      input = el('input', { type: 'text', maxlength: spec.maxLength, value: String(value) });
      break;
  }
  input.id = id;
  input.setAttribute('aria-describedby', `${id}-help ${id}-error`);
  input.addEventListener('input', () => {
    step.values[name] = input instanceof HTMLInputElement && input.type === 'checkbox' ? input.checked : input.value;
    touched = true;
    validate();
  });
  const help = el('span', { class: 'hint', id: `${id}-help` }, [spec.help, range, dflt].filter(Boolean).join(' · '));
  const error = el('p', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true });
  // A checkbox sits inside its label, like every checkbox on the page; other fields have theirs above.
  return spec.type === 'boolean'
    ? el('div', { class: 'param' }, el('label', { class: 'check' }, input, name), help, error)
    : el('div', { class: 'param' }, el('label', { for: id }, name), input, help, error);
}

function renderSteps(focus?: string): void {
  const list = byId('steps');
  list.replaceChildren(
    ...steps.map((step, index) => {
      const button = (action: string, label: string, text: string, disabled = false) =>
        el(
          'button',
          { type: 'button', class: 'icon', 'data-action': action, 'aria-label': `${label} ${step.filter}`, disabled },
          text,
        );
      const up = button('up', 'Move up', '↑', index === 0);
      const down = button('down', 'Move down', '↓', index === steps.length - 1);
      const remove = button('remove', 'Remove', '✕');
      up.addEventListener('click', () => move(index, -1, 'up'));
      down.addEventListener('click', () => move(index, 1, 'down'));
      remove.addEventListener('click', () => {
        steps.splice(index, 1);
        touched = true;
        renderSteps();
      });
      const params = Object.entries(specsOf(step.filter));
      return el(
        'li',
        { class: 'step', 'data-filter': step.filter, id: `step-${step.id}` },
        el(
          'div',
          { class: 'step-head' },
          el('strong', {}, step.filter),
          el('span', { class: 'hint' }, filterCatalog[step.filter].summary),
          el('span', { class: 'step-buttons' }, up, down, remove),
        ),
        params.length ? el('div', { class: 'params' }, ...params.map(([name, spec]) => field(step, name, spec))) : null,
        el('p', { class: 'field-error', id: `step-${step.id}-error`, role: 'alert', hidden: true }),
      );
    }),
  );
  if (steps.length === 0) list.append(el('li', { class: 'hint' }, 'No filters: the photo is published as it is.'));
  if (focus) document.querySelector<HTMLElement>(focus)?.focus();
  validate();
}

function move(index: number, by: -1 | 1, action: string): void {
  const [step] = steps.splice(index, 1);
  steps.splice(index + by, 0, step);
  touched = true;
  const target = index + by === 0 && action === 'up' ? 'down' : action;
  renderSteps(`#step-${step.id} [data-action="${target}"]`);
}

function renderFiles(): void {
  const list = byId('chosen');
  list.replaceChildren(
    ...files.map((file, index) => {
      const remove = el('button', { type: 'button', class: 'icon', 'aria-label': `Remove ${file.name}` }, '✕');
      remove.addEventListener('click', () => {
        files.splice(index, 1);
        renderFiles();
      });
      const thumbnail = file.type.startsWith('image/')
        ? el('img', { src: URL.createObjectURL(file), alt: '' })
        : el('span', { class: 'no-thumb' }, '?');
      return el(
        'li',
        {},
        thumbnail,
        el('span', { class: 'name' }, file.name),
        el('span', { class: 'hint' }, kilobytes(file.size)),
        remove,
      );
    }),
  );
  validate();
}

function addFiles(added: FileList | null): void {
  if (!added || added.length === 0) return;
  files = [...files, ...Array.from(added)];
  touched = true;
  renderFiles();
}

function send(event: Event): void {
  event.preventDefault();
  touched = true;
  if (!validate()) return;
  const body = new FormData();
  // The request first: the server checks it before it stores any photo.
  body.append('request', JSON.stringify(buildRequest()));
  for (const file of files) body.append('photo', file, file.name);
  const button = byId<HTMLButtonElement>('send');
  const progress = byId<HTMLProgressElement>('sending');
  button.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  // XMLHttpRequest rather than fetch: it reports upload progress, which large photos need.
  const request = new XMLHttpRequest();
  request.open('POST', '/api/photos');
  request.responseType = 'json';
  request.upload.addEventListener('progress', (e) => {
    if (e.lengthComputable) progress.value = e.loaded / e.total;
  });
  request.addEventListener('load', () => {
    progress.hidden = true;
    const answer = request.response as { runs?: { page: string }[]; album?: { page: string }; error?: string } | null;
    if (request.status === 201 && answer?.runs) return started({ runs: answer.runs, album: answer.album });
    button.disabled = false;
    showError(byId('form-error'), answer?.error ?? `the server answered ${request.status}`);
  });
  request.addEventListener('error', () => {
    progress.hidden = true;
    button.disabled = false;
    showError(byId('form-error'), 'the upload did not reach the server; is it running?');
  });
  request.send(body);
}

/** One photo: its run page; several: the album's page, which links every photo's run. */
function started(answer: { runs: { page: string }[]; album?: { page: string } }): void {
  location.assign(answer.album?.page ?? answer.runs[0].page);
}

async function init(): Promise<void> {
  const addSelect = byId<HTMLSelectElement>('add-filter');
  addSelect.replaceChildren(
    ...filterNames.map((name) => el('option', { value: name }, `${name} — ${filterCatalog[name].summary}`)),
  );
  byId('add-step').addEventListener('click', () => {
    steps.push(newStep(addSelect.value as FilterName));
    touched = true;
    renderSteps(`#step-${steps.at(-1)!.id} input, #step-${steps.at(-1)!.id} select`);
  });

  const targets = byId('targets');
  for (const target of SHARE_TARGETS) {
    targets.append(
      el(
        'label',
        { class: 'check' },
        el('input', { type: 'checkbox', id: `target-${target}`, checked: target === 'gallery' }),
        ` ${TARGET_LABELS[target] ?? target}`,
      ),
    );
  }
  targets.addEventListener('change', () => validate());

  const review = byId<HTMLInputElement>('review');
  review.addEventListener('change', () => {
    byId('review-timeout-field').hidden = !review.checked;
    validate();
  });
  byId('review-timeout').addEventListener('input', () => {
    touched = true;
    validate();
  });
  byId('title').addEventListener('input', () => validate());

  const input = byId<HTMLInputElement>('files');
  input.addEventListener('change', () => {
    addFiles(input.files);
    input.value = ''; // the same photo may be chosen again after removing it
  });
  const drop = byId('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles(e.dataTransfer?.files ?? null);
  });
  byId('upload').addEventListener('submit', send);

  // A sensible start: web-sized, kept if already smaller.
  steps = [newStep('resize', { width: '1600', withoutEnlargement: true })];
  renderSteps();
  renderFiles();

  try {
    const catalog = (await (await fetch('/api/catalog')).json()) as { limits: Limits };
    limits = catalog.limits;
    byId('limits').textContent = `up to ${limits.maxFiles} photos, ${kilobytes(limits.maxBytes)} each`;
    validate();
  } catch {
    // Limits are a courtesy: the server enforces them anyway.
  }
}

void init();
