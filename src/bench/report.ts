import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import sharp from 'sharp';
import type { ModeResult } from './results';

/** Tables for the terminal and BENCHMARKS.md, target verdicts, and a description of the machine. */

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  sharp: string;
  libvips: string;
  temporalCli: string;
}

export function describeMachine(cli?: string): Machine {
  const cliVersion = cli ? spawnSync(cli, ['--version'], { encoding: 'utf8' }).stdout?.trim() : undefined;
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    sharp: sharp.versions.sharp ?? '?',
    libvips: sharp.versions.vips,
    temporalCli: cliVersion || 'unknown',
  };
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

/** Activity retries during measured runs: they cost time, so a run with retries is not a clean measurement. */
export function retryNote(modes: ModeResult[]): string | undefined {
  const late = (m: ModeResult) => (m.maxResultDelayMs ?? 0) > 1000;
  const troubled = modes.filter((m) => m.retries?.length || m.incidents?.length || late(m));
  if (troubled.length === 0) return undefined;
  const describe = (m: ModeResult) =>
    [
      m.retries.length ? `${m.retries.length} retries (${m.retries[0]})` : '',
      m.incidents.length
        ? `${m.incidents.length} task timeouts or failures (${[...new Set(m.incidents)].join(', ')})`
        : '',
      late(m) ? `a result reached the client ${f(m.maxResultDelayMs! / 1000, 1)} s after its run had closed` : '',
    ]
      .filter(Boolean)
      .join(', ');
  return `Retries and incidents: ${troubled.map((m) => `${m.label}: ${describe(m)}`).join('; ')}.`;
}

/** Modes that store an output per photo; `monolith-filters` times the chain alone and keeps nothing (reference). */
const makesPhotos = (m: ModeResult) => m.unit === 'photos/s' && m.id !== 'monolith-filters';

/**
 * Whether every mode that makes photos made the same output (the same blob key: content-addressed) from each photo,
 * every time. A mode with no outputs at all, or without one for a photo that some mode ran, fails the check: there
 * is nothing to compare, so nothing may be called identical.
 */
export function checkOutputs(modes: ModeResult[]): { identical: boolean; text: string } {
  const photoModes = modes.filter(makesPhotos);
  if (photoModes.length === 0) return { identical: true, text: 'Outputs: no mode that makes photos ran.' };
  const names = photoModes.map((m) => m.label).join(', ');
  const photos = [...new Set(photoModes.flatMap((m) => Object.keys(m.outputs)))];
  const problems: string[] = [];
  for (const mode of photoModes) {
    const missing = photos.filter((p) => !mode.outputs[p]?.length);
    if (missing.length === photos.length) problems.push(`${mode.label} produced no outputs`);
    else if (missing.length)
      problems.push(`${mode.label} has no output for ${missing.length} photos (${missing.slice(0, 3).join(', ')})`);
  }
  const differing = photos.filter((p) => new Set(photoModes.flatMap((m) => m.outputs[p] ?? [])).size > 1);
  if (differing.length)
    problems.push(
      `outputs DIFFER for ${differing.length} of ${photos.length} photos (${differing.slice(0, 3).join(', ')})`,
    );
  return problems.length === 0
    ? { identical: true, text: `Outputs: byte-identical for all ${photos.length} photos across ${names}, every run.` }
    : { identical: false, text: `Outputs NOT VERIFIED across ${names}: ${problems.join('; ')}.` };
}

export interface BenchReport {
  date: string;
  quick: boolean;
  machine: Machine;
  workload: string;
  photos: { source: string; count: number; megapixels: string };
  settings: Record<string, string>;
  modes: ModeResult[];
  targets: Target[];
}

const MB = 2 ** 20;
/** Each worker process's memory limit, which the real-photo load test (test/chaos) holds each one to. */
export const WORKER_RSS_TARGET_MB = 600;
const f = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));

/** Issue 12's memory targets, 8 photos in flight: the four service processes together, and one process for all. */
export const SPLIT_WORKERS_RSS_TARGET_MB = 700;
export const SINGLE_WORKER_RSS_TARGET_MB = 450;

/** CPU per run, all the mode's processes together (ms). */
const totalCpu = (m: ModeResult) => Object.values(m.cpuMsPerJob).reduce((a, b) => a + b, 0);

/**
 * With `--cpus` putting some of a mode's processes (the server's) on other CPUs than the reference's: the CPU per run
 * of those that shared the reference's CPUs, against the reference's. That compares them as if the rest ran on a host
 * of its own. Empty when nothing was bound apart.
 */
function onReferenceCpus(m: ModeResult, reference: ModeResult, unit: string): string {
  const cpus = reference.usage.processes[0]?.cpus;
  const together = m.usage.processes.filter((p) => p.cpus === cpus);
  if (cpus === undefined || together.length === 0 || together.length === m.usage.processes.length) return '';
  const cpu = together.reduce((sum, p) => sum + m.cpuMsPerJob[p.label], 0);
  return `; by CPU per ${unit} on the ${reference.id}'s CPUs (${cpus}) ${f(totalCpu(reference) / cpu, 2)}× (${f(cpu)} vs ${f(totalCpu(reference))} ms)`;
}

/**
 * Other programs' share of the cores above which a ratio of timings is not judged: they take turns with the modes
 * unevenly, so the ratio measures them (`?` in the targets table, with CPU per photo beside it).
 */
export const LOADED_OTHER_CPU = 0.1;

/** Issue 12's targets, judged on this run's numbers. */
export function judge(modes: ModeResult[]): Target[] {
  const by = (id: string) => modes.find((m) => m.id === id);
  const loaded = (...ms: ModeResult[]) => ms.some((m) => m.usage.otherCpu >= LOADED_OTHER_CPU);
  const judged = (met: boolean, ...ms: ModeResult[]) => (loaded(...ms) ? undefined : met);
  // With every core busy, runs per second follow CPU per run: the sturdier estimate of the ratio under load.
  const byCpu = (m: ModeResult, reference: ModeResult, unit: string) =>
    `; by CPU per ${unit} ${f(totalCpu(reference) / totalCpu(m), 2)}× (${f(totalCpu(m))} vs ${f(totalCpu(reference))} ms)` +
    onReferenceCpus(m, reference, unit);
  const monolith = by('monolith');
  const targets: Target[] = [];
  for (const [id, goal] of [
    ['nano', 0.9],
    ['nano-held', 0.9],
    ['fused', 0.97],
  ] as const) {
    const mode = by(id);
    if (!mode || !monolith) continue;
    targets.push({
      name: `${mode.label}: throughput vs monolith`,
      goal: `≥ ${f(goal, 2)}×`,
      measured:
        `${f(mode.ratio, 2)}× (${f(mode.throughput, 2)} vs ${f(monolith.throughput, 2)} photos/s)` +
        byCpu(mode, monolith, 'photo'),
      met: judged(mode.ratio! >= goal, mode, monolith),
    });
  }
  const ceiling = by('ceiling');
  const plain = by('ceiling-plain');
  if (ceiling && plain) {
    const ratio = ceiling.throughput / plain.throughput;
    targets.push({
      name: 'ceiling: processPhoto vs plain workflow, same activities',
      goal: '≥ 0.95×',
      measured:
        `${f(ratio, 2)}× (${f(ceiling.throughput, 1)} vs ${f(plain.throughput, 1)} pipelines/s)` +
        byCpu(ceiling, plain, 'pipeline'),
      met: judged(ratio >= 0.95, ceiling, plain),
    });
  }
  for (const id of ['nano', 'nano-held', 'fused', 'nano-single'] as const) {
    const mode = by(id);
    if (!mode?.hops?.count || !mode.idleHops?.count) continue;
    targets.push({
      name: `${mode.label}: hop p50 at ${mode.inFlight} in flight vs idle`,
      goal: '≤ 1.5×',
      measured: `${f(mode.hops.p50 / mode.idleHops.p50, 2)}× (${f(mode.hops.p50, 1)} vs ${f(mode.idleHops.p50, 1)} ms)`,
      met: judged(mode.hops.p50 <= 1.5 * mode.idleHops.p50, mode),
    });
  }
  for (const id of ['nano', 'nano-held', 'fused', 'nano-single'] as const) {
    const mode = by(id);
    if (!mode) continue;
    const limit = id === 'nano-single' ? SINGLE_WORKER_RSS_TARGET_MB : SPLIT_WORKERS_RSS_TARGET_MB;
    targets.push({
      name: `${mode.label}: worker peak RSS, ${mode.inFlight} in flight`,
      goal: `≤ ${limit} MB`,
      measured:
        `${f(mode.usage.peakWorkerRss / MB)} MB all worker processes together (largest one ${f(mode.usage.peakWorkerProcessRss / MB)} MB); ` +
        `then ${f(mode.usage.workersTogetherAtPeak / MB)} MB with each shared page counted once`,
      met: mode.usage.peakWorkerRss <= limit * MB,
    });
  }
  return targets;
}

function table(head: string[], rows: string[][], align: ('l' | 'r')[]): { text: string; markdown: string } {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const pad = (cell: string, i: number) => (align[i] === 'r' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]));
  const text = [head, ...rows].map((r) => r.map(pad).join('  ')).join('\n');
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  const markdown = [line(head), line(align.map((a) => (a === 'r' ? '---:' : '---'))), ...rows.map(line)].join('\n');
  return { text, markdown };
}

export function mainTable(modes: ModeResult[]) {
  const head = [
    'mode',
    'throughput',
    'rounds',
    '× monolith',
    'p50 ms',
    'p95 ms',
    'hop p50/p95 ms',
    'hop p50 idle',
    'CPU',
    'worker RSS peak',
    'shared once',
  ];
  const rows = modes.map((m) => [
    m.label,
    `${f(m.throughput, 2)} ${m.unit}`,
    m.roundThroughputs.length > 1 ? m.roundThroughputs.map((t) => f(t, 2)).join(' / ') : '',
    m.ratio === undefined ? '' : `${f(m.ratio, 2)}×`,
    f(m.latency.p50),
    f(m.latency.p95),
    m.hops?.count ? `${f(m.hops.p50, 1)} / ${f(m.hops.p95, 1)}` : '–',
    m.idleHops?.count ? f(m.idleHops.p50, 1) : '–',
    `${f(m.usage.machineCpu * 100)}%${m.usage.otherCpu >= 0.05 ? ` (${f(m.usage.otherCpu * 100)}% other)` : ''}`,
    `${f(m.usage.peakWorkerRss / MB)} MB${m.usage.processes.filter((p) => p.worker).length > 1 ? ` (max ${f(m.usage.peakWorkerProcessRss / MB)})` : ''}`,
    `${f(m.usage.workersTogetherAtPeak / MB)} MB`,
  ]);
  return table(head, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']);
}

export function hopTable(modes: ModeResult[]) {
  const head = [
    'mode',
    'hops',
    'total p50',
    '→ workflow task',
    'workflow task',
    '→ next activity',
    'start → 1st activity',
  ];
  const rows = modes
    .filter((m) => m.hops?.count)
    .map((m) => [
      m.label,
      String(m.hops!.count),
      f(m.hops!.p50, 1),
      f(m.hops!.toWorkflowTaskP50, 1),
      f(m.hops!.workflowTaskP50, 1),
      f(m.hops!.toActivityP50, 1),
      f(m.firstDispatchP50, 1),
    ]);
  return table(head, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r']);
}

/** Time inside each activity, where the blob store's reads and writes happen: the drivers' cost per step. */
export function stepTable(modes: ModeResult[]) {
  const withSteps = modes.filter((m) => m.unit === 'photos/s' && m.stepP50);
  const steps = [...new Set(withSteps.flatMap((m) => Object.keys(m.stepP50!)))];
  const rows = withSteps.map((m) => [m.label, ...steps.map((s) => f(m.stepP50![s]))]);
  return table(['mode', ...steps], rows, ['l', ...steps.map(() => 'r' as const)]);
}

export function processTable(modes: ModeResult[]) {
  const labels = [...new Set(modes.flatMap((m) => m.usage.processes.map((p) => p.label)))];
  const head = ['mode', ...labels, 'total CPU'];
  const rows = modes.map((m) => [
    m.label,
    ...labels.map((l) => {
      const p = m.usage.processes.find((x) => x.label === l);
      return p ? `${f(m.cpuMsPerJob[l])} ms, ${f(p.peakRss / MB)} MB` : '';
    }),
    `${f(totalCpu(m))} ms`,
  ]);
  return table(head, rows, ['l', ...labels.map(() => 'r' as const), 'r']);
}

export function targetTable(targets: Target[]) {
  return table(
    ['target', 'goal', 'measured', 'met'],
    targets.map((t) => [t.name, t.goal, t.measured, t.met === undefined ? '? (others busy)' : t.met ? 'yes' : 'NO']),
    ['l', 'l', 'l', 'l'],
  );
}

/** A warning when other programs used the CPU during measured runs: their numbers are then not comparable. */
export function noiseWarning(modes: ModeResult[]): string | undefined {
  const noisy = modes.filter((m) => m.usage.otherCpu >= 0.1 || m.usage.ioWait >= 0.1);
  if (noisy.length === 0) return undefined;
  const why = (m: ModeResult) =>
    [
      m.usage.otherCpu >= 0.1 ? `other programs used ${f(m.usage.otherCpu * 100)}% of all cores` : '',
      m.usage.ioWait >= 0.1 ? `${f(m.usage.ioWait * 100)}% waiting for the disk` : '',
    ]
      .filter(Boolean)
      .join(', ');
  return (
    `Warning: ${noisy.map((m) => `${m.label}: ${why(m)}`).join('; ')}. ` +
    'Those numbers and their ratios are not reliable; run the benchmark on an otherwise idle machine.'
  );
}

export function printable(report: BenchReport): string {
  const warning = noiseWarning(report.modes);
  return [
    `\nnano-photos benchmark, ${report.date}${report.quick ? ' (quick: too few runs for stable numbers)' : ''}`,
    `machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB; Node ${report.machine.node}, sharp ${report.machine.sharp} (libvips ${report.machine.libvips})`,
    `workload: ${report.workload}; photos: ${report.photos.source} (${report.photos.megapixels})`,
    '',
    mainTable(report.modes).text,
    '',
    'Per-hop orchestration overhead, medians in ms (from event histories):',
    hopTable(report.modes).text,
    '',
    'Time inside each activity, medians in ms (blob store reads and writes included):',
    stepTable(report.modes).text,
    '',
    'By process: CPU ms per photo (pipeline), peak RSS:',
    processTable(report.modes).text,
    '',
    'Targets:',
    targetTable(report.targets).text,
    '',
    checkOutputs(report.modes).text,
    retryNote(report.modes) ?? 'Retries and task timeouts: none.',
    '',
    ...(warning ? [warning, ''] : []),
  ].join('\n');
}

const NOTES_START = '<!-- notes:start -->';
const NOTES_END = '<!-- notes:end -->';

/** BENCHMARKS.md: the measured tables, regenerated each run; the hand-written notes between the markers are kept. */
export function markdown(report: BenchReport, previousFile: string): string {
  const previous = existsSync(previousFile) ? readFileSync(previousFile, 'utf8') : '';
  const start = previous.indexOf(NOTES_START);
  const end = previous.indexOf(NOTES_END);
  const notes =
    start >= 0 && end > start ? previous.slice(start, end + NOTES_END.length) : `${NOTES_START}\n${NOTES_END}`;
  const m = report.machine;
  const settings = Object.entries(report.settings).map(([k, v]) => `- ${k}: ${v}`);
  return [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` on ${report.date}${report.quick ? ' (--quick: too few runs for stable numbers)' : ''}. ` +
      'All modes ran in one run on the same machine; the monolith, nano and fused modes took turns in rounds, so ' +
      'their ratios compare like with like. The tables are rewritten by every full run; the notes at the end are not.',
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpu}, ${m.cores} cores; ${m.memoryGiB} GiB RAM; ${m.kernel}`,
    `- Node ${m.node}; sharp ${m.sharp} (libvips ${m.libvips}); Temporal CLI: ${m.temporalCli}`,
    '',
    '## Workload',
    '',
    `- ${report.workload}`,
    `- Photos: ${report.photos.source}; ${report.photos.count} distinct files (${report.photos.megapixels})`,
    ...settings,
    '',
    '## Results',
    '',
    mainTable(report.modes).markdown,
    '',
    ...(noiseWarning(report.modes) ? [`> ${noiseWarning(report.modes)}`, ''] : []),
    '- **throughput**: runs per second from the first start to the last result of a round; with rounds, the median ' +
      "round (each round's in **rounds**). **p50/p95**: each photo from the start request to its result. **hop**: one " +
      "activity's completion to the next one's start, from the event history; **hop p50 idle**: the same with one run " +
      'in flight (each photo once, after the warm-up). **CPU**: busy share of all cores during the measured runs (in brackets: the share other programs ' +
      "used, when 5 % or more). **worker RSS peak**: the highest sum of the worker processes' resident memory (sampled " +
      'every 100 ms); in brackets the largest single process. **shared once**: the same sum with each page counted once: less the ' +
      "pages the workers share (the Node binary, libvips, the SDK's core) beyond those of the one that has the most " +
      '(read as a round starts and ends; library code, they hardly change). The targets are judged by RSS, as the ' +
      'issue set them.',
    '',
    ...report.modes.map(
      (mode) =>
        `- ${mode.label}: ${mode.description}; ${mode.jobs} runs, ${mode.inFlight} in flight${mode.rounds > 1 ? `, in ${mode.rounds} rounds interleaved with the other modes' rounds` : ''}.`,
    ),
    '',
    checkOutputs(report.modes).text,
    retryNote(report.modes) ??
      'Retries and task timeouts: none (no activity needed a second attempt, no task timed out).',
    '',
    '### Where a hop goes (medians, ms)',
    '',
    hopTable(report.modes).markdown,
    '',
    '### Time inside each activity (medians, ms)',
    '',
    "Start to completion of each activity, from the event history: the step's blob store reads and writes " +
      'included, so modes on different blob drivers compare step by step.',
    '',
    stepTable(report.modes).markdown,
    '',
    '### By process: CPU per photo (or pipeline), peak RSS',
    '',
    processTable(report.modes).markdown,
    '',
    '## Targets',
    '',
    targetTable(report.targets).markdown,
    '',
    notes,
    '',
  ].join('\n');
}
