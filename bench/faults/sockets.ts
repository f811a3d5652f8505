// Network sockets a process holds, read from Linux's /proc: each /proc/<pid>/fd link
// "socket:[inode]" looked up in the kernel's inet tables (/proc/<pid>/net/tcp, tcp6, udp, udp6,
// raw, raw6). Unix-domain sockets, such as the IPC channel between the client and its worker, are
// not network sockets and are not counted.
import fs from 'node:fs';

const INET_TABLES = ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6'];

/** The socket inodes among `pid`'s open fds (empty when it has exited). */
export function socketInodes(pid: number): string[] {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes: string[] = [];
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.push(m[1]);
    } catch {
      // the fd closed between the listing and the read
    }
  }
  return inodes;
}

/** Which of `inodes` are inet sockets, as "tcp:12345" (the tables list the whole namespace). */
export function inetSockets(pid: number, inodes: Iterable<string>): string[] {
  const wanted = new Set(inodes);
  const found: string[] = [];
  for (const table of INET_TABLES) {
    let text = '';
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode && wanted.has(inode)) found.push(`${table}:${inode}`);
    }
  }
  return found;
}

/**
 * Polls the processes `pids()` names every `everyMs` and remembers every inet socket it sees.
 * A socket opened and closed between two polls would be missed; `samples` says how often it looked.
 */
export class SocketWatch {
  readonly seen = new Set<string>();
  readonly pids = new Set<number>();
  /** More processes to watch, added while it runs. */
  readonly extra = new Set<number>();
  /** Socket inodes already looked up (inet or not). */
  private readonly checked = new Set<string>();
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly current: () => (number | undefined)[],
    everyMs = 10,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): void {
    this.samples++;
    for (const pid of this.current()) {
      if (pid === undefined) continue;
      this.pids.add(pid);
      // the kernel's tables are read only for sockets not seen before (reading them every 10 ms
      // would cost more than the work being watched)
      const fresh = socketInodes(pid).filter((i) => !this.checked.has(i));
      if (fresh.length === 0) continue;
      for (const s of inetSockets(pid, fresh)) this.seen.add(`${pid}/${s}`);
      for (const i of fresh) this.checked.add(i);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
