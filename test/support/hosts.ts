import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Hosts for multi-machine tests, made of Linux network namespaces on this machine: each host has its own address on
 * a private test network and its own data folder that no other host is told about. The first host carries the
 * network's bridge, so every packet stays between the test's own namespaces. Everything this creates — namespaces,
 * links, processes, folders — is removed by `destroy()`, which also runs if the test process exits early.
 *
 * Needs root (ip netns). Processes are started with `ip netns exec`, which execs the command: the pid we hold is
 * the process itself, so stopping by pid stops exactly what was started.
 */

export interface Host {
  name: string;
  /** The network namespace. */
  ns: string;
  address: string;
  /** This host's private folder: its "disk". */
  dir: string;
}

export interface HostProcess {
  host: Host;
  label: string;
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  running(): boolean;
  /** The tail of its stdout and stderr. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr || result.error}`);
}

/** Whether this process may create network namespaces (root, with iproute2). */
export function canCreateHosts(): boolean {
  return process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
}

export class TestNetwork {
  readonly hosts: Host[] = [];
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-hosts-'));
  private readonly processes = new Set<HostProcess>();
  private readonly onExit = () => this.destroySync();
  private destroyed = false;

  /** A /24 from 10.200-250.x: random, so two test runs on one machine don't share addresses. */
  private readonly subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
  private readonly tag = `np${process.pid % 100000}`;

  private constructor() {
    process.once('exit', this.onExit);
  }

  /** Creates hosts named as given; the first carries the bridge. */
  static create(names: string[]): TestNetwork {
    const network = new TestNetwork();
    try {
      names.forEach((name, index) => network.addHost(name, index));
    } catch (err) {
      network.destroySync();
      throw err;
    }
    return network;
  }

  host(name: string): Host {
    const host = this.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no host ${name}`);
    return host;
  }

  private addHost(name: string, index: number): void {
    const ns = `${this.tag}-${name}`;
    const host: Host = { name, ns, address: `${this.subnet}.${index + 1}`, dir: path.join(this.dir, name) };
    mkdirSync(host.dir);
    ip('netns', 'add', ns);
    this.hosts.push(host);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    const hub = this.hosts[0].ns;
    if (index === 0) {
      ip('netns', 'exec', ns, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
      ip('netns', 'exec', ns, 'ip', 'link', 'set', 'br0', 'up');
      ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${host.address}/24`, 'dev', 'br0');
      return;
    }
    // A veth pair: one end on the hub's bridge, the other this host's eth0. Made in this test's namespaces only.
    const [hubEnd, hostEnd] = [`${this.tag}h${index}`, `${this.tag}e${index}`];
    ip('link', 'add', hubEnd, 'netns', hub, 'type', 'veth', 'peer', 'name', hostEnd, 'netns', ns);
    ip('netns', 'exec', hub, 'ip', 'link', 'set', hubEnd, 'master', 'br0', 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', hostEnd, 'name', 'eth0');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up');
  }

  /**
   * Starts `command args` on a host. Resolves once a line of its output matches `ready` (if given), or rejects if it
   * exits first or is not ready within `readyTimeoutMs`.
   */
  async start(
    host: Host,
    label: string,
    command: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string; ready?: RegExp; readyTimeoutMs?: number } = {},
  ): Promise<HostProcess> {
    const log = openSync(path.join(this.dir, `${host.name}-${label}.log`), 'a');
    const child = spawn('ip', ['netns', 'exec', host.ns, command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
      writeSync(log, chunk); // the log keeps everything, for a failure's post-mortem
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const running = () => child.exitCode === null && child.signalCode === null;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => setImmediate(() => closeSync(log))); // after the last output events
    if (child.pid === undefined) throw new Error(`${label} on ${host.name}: could not start ${command}`);
    const processes = this.processes;
    const proc: HostProcess = {
      host,
      label,
      pid: child.pid,
      child,
      exited,
      running,
      output: () => output,
      async kill(signal = 'SIGKILL') {
        if (running()) process.kill(child.pid!, signal);
        await exited;
        processes.delete(proc);
      },
    };
    processes.add(proc);
    if (options.ready) {
      const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
      while (!options.ready.test(output)) {
        if (!running()) throw new Error(`${label} on ${host.name} exited before it was ready:\n${output}`);
        if (Date.now() > deadline) {
          await proc.kill();
          throw new Error(`${label} on ${host.name} was not ready in time:\n${output}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return proc;
  }

  /** Runs a short command on a host and returns its exit status (e.g. a readiness probe). */
  exec(host: Host, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number | null {
    return spawnSync('ip', ['netns', 'exec', host.ns, command, ...args], { env, stdio: 'ignore', timeout: 30_000 })
      .status;
  }

  /** Every process this network started on `host` that still runs. */
  processesOn(host: Host): HostProcess[] {
    return [...this.processes].filter((p) => p.host === host && p.running());
  }

  /** SIGKILLs every process, removes the namespaces (and with them their links) and the hosts' folders. */
  async destroy(): Promise<void> {
    await Promise.all([...this.processes].map((p) => p.kill('SIGKILL')));
    this.destroySync();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.onExit);
    for (const p of this.processes) {
      try {
        if (p.running()) process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const host of [...this.hosts].reverse()) spawnSync('ip', ['netns', 'del', host.ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
