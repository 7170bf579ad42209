import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startChild, waitForOutput, type Child } from '../../src/lib/child-processes';

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

export interface HostProcess extends Child {
  host: Host;
  label: string;
}

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
    const child = startChild({
      name: `${label} on ${host.name}`,
      command: 'ip',
      args: ['netns', 'exec', host.ns, command, ...args],
      cwd: options.cwd,
      env: options.env,
      logFile: path.join(this.dir, `${host.name}-${label}.log`), // everything, for a failure's post-mortem
    });
    const proc: HostProcess = { ...child, host, label };
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    if (options.ready) await waitForOutput(proc, options.ready, { timeoutMs: options.readyTimeoutMs ?? 120_000 });
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
    for (const p of this.processes) void p.kill('SIGKILL'); // sent at once: this may run in an 'exit' handler
    for (const host of [...this.hosts].reverse()) spawnSync('ip', ['netns', 'del', host.ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
