import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkOutputs, judge } from '../src/bench/report';
import type { ModeId, ModeResult } from '../src/bench/results';

/** The benchmark's byte-identity verdict (`npm run bench` exits non-zero when it fails). */

/** A mode's result as far as checkOutputs reads it: what it is and its output keys by photo. */
function mode(id: ModeId, outputs: Record<string, string[]>): ModeResult {
  return {
    id,
    label: id,
    unit: id.startsWith('ceiling') ? 'pipelines/s' : 'photos/s',
    outputs,
  } as ModeResult;
}

const same = { 'a.jpg': ['k1.jpg'], 'b.jpg': ['k2.jpg'] };

describe('checkOutputs', () => {
  it('calls outputs identical when every photo mode made the same key from every photo', () => {
    const verdict = checkOutputs([mode('monolith', same), mode('nano', same), mode('fused', same)]);
    assert.equal(verdict.identical, true, verdict.text);
    assert.match(verdict.text, /byte-identical for all 2 photos across monolith, nano, fused/);
  });

  it('flags a photo whose outputs differ between modes or between runs', () => {
    const between = checkOutputs([mode('monolith', same), mode('nano', { ...same, 'b.jpg': ['k3.jpg'] })]);
    assert.equal(between.identical, false);
    assert.match(between.text, /DIFFER for 1 of 2 photos \(b\.jpg\)/);
    const runs = checkOutputs([mode('monolith', same), mode('nano', { ...same, 'a.jpg': ['k1.jpg', 'k9.jpg'] })]);
    assert.equal(runs.identical, false);
  });

  it('flags a mode that produced no outputs at all', () => {
    for (const empty of [{}, { 'a.jpg': [], 'b.jpg': [] }] as Record<string, string[]>[]) {
      const verdict = checkOutputs([mode('monolith', same), mode('fused', empty)]);
      assert.equal(verdict.identical, false, verdict.text);
      assert.match(verdict.text, /fused produced no outputs/);
    }
    assert.equal(checkOutputs([mode('nano', {})]).identical, false, 'even when it is the only mode');
  });

  it('flags a photo missing from one mode', () => {
    const verdict = checkOutputs([mode('monolith', same), mode('nano', { 'a.jpg': ['k1.jpg'] })]);
    assert.equal(verdict.identical, false, verdict.text);
    assert.match(verdict.text, /nano has no output for 1 photos \(b\.jpg\)/);
    const noKey = checkOutputs([mode('monolith', same), mode('nano', { 'a.jpg': ['k1.jpg'], 'b.jpg': [] })]);
    assert.equal(noKey.identical, false, noKey.text);
  });

  it('ignores the modes that keep no photos: the filters-only monolith and the ceilings', () => {
    const verdict = checkOutputs([
      mode('monolith', same),
      mode('monolith-filters', { 'a.jpg': [], 'b.jpg': [] }),
      mode('nano', same),
      mode('ceiling', {}),
    ]);
    assert.equal(verdict.identical, true, verdict.text);
    assert.equal(checkOutputs([mode('ceiling', {})]).identical, true, 'a ceiling-only run has nothing to compare');
  });
});

describe('judge', () => {
  /** A photo mode's result as far as the throughput target reads it. */
  const timed = (id: ModeId, throughput: number, cpuMs: number, otherCpu: number, ratio?: number): ModeResult =>
    ({
      id,
      label: id,
      throughput,
      ratio,
      cpuMsPerJob: { worker: cpuMs },
      usage: { otherCpu, peakWorkerRss: 0, peakWorkerProcessRss: 0, processes: [] },
    }) as unknown as ModeResult;

  it('judges a throughput ratio when the modes had the cores to themselves', () => {
    const [met] = judge([timed('monolith', 2, 800, 0.02), timed('nano', 1.9, 840, 0.03, 0.95)]);
    assert.equal(met.met, true, met.measured);
    const [missed] = judge([timed('monolith', 2, 800, 0.02), timed('nano', 1.4, 1140, 0.03, 0.7)]);
    assert.equal(missed.met, false, missed.measured);
    assert.match(missed.measured, /0\.70× \(1\.40 vs 2\.00 photos\/s\); by CPU per photo 0\.70× \(1140 vs 800 ms\)/);
  });

  it("with the server bound to CPUs of its own (--cpus), also compares the processes on the monolith's CPUs", () => {
    /** A mode whose processes used `cpuMs` per photo each, bound to the CPUs given. */
    const bound = (id: ModeId, throughput: number, processes: Record<string, [number, string]>, ratio?: number) =>
      ({
        ...timed(id, throughput, 0, 0, ratio),
        cpuMsPerJob: Object.fromEntries(Object.entries(processes).map(([label, [ms]]) => [label, ms])),
        usage: {
          otherCpu: 0,
          processes: Object.entries(processes).map(([label, [, cpus]]) => ({ label, cpus })),
        },
      }) as unknown as ModeResult;
    const monolith = bound('monolith', 1.28, { monolith: [773, '1'] });
    const fused = bound('fused', 1.21, { 'worker:filter': [714, '1'], 'worker:upload': [108, '1'], server: [95, '0'] });
    const [target] = judge([monolith, fused]);
    assert.match(
      target.measured,
      /by CPU per photo 0\.84× \(917 vs 773 ms\); by CPU per photo on the monolith's CPUs \(1\) 0\.94× \(822 vs 773 ms\)$/,
    );
    // Nothing bound apart: no second figure.
    const [unbound] = judge([
      bound('monolith', 1.28, { monolith: [773, '0-1'] }),
      bound('fused', 1.2, { w: [800, '0-1'] }),
    ]);
    assert.doesNotMatch(unbound.measured, /monolith's CPUs/);
  });

  it('leaves a ratio unjudged when other programs took a tenth of the cores or more during either mode', () => {
    // Under load the monolith happened to run in a quiet moment: its ratio says 1.36×, its CPU per photo 0.71×.
    const [target] = judge([timed('monolith', 0.82, 788, 0.66), timed('nano', 1.11, 1113, 0.05, 1.36)]);
    assert.equal(target.met, undefined, target.measured);
    assert.match(target.measured, /by CPU per photo 0\.71×/);
  });
});
