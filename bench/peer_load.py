"""How busy the machine was while something was measured: the share of all CPUs that other processes used.

Plain standard library, read by both sides of `make bench-peer`."""
import os
import time

_HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def sample():
    """(CPU seconds the whole machine was busy, CPU seconds of this process and its finished children, wall time)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    busy = sum(ticks[:3]) + sum(ticks[5:8])
    t = os.times()
    return busy / _HZ, t.user + t.system + t.children_user + t.children_system, time.perf_counter()


def foreign_share(before, after):
    """Share of the machine's CPU capacity used by other processes between two samples (0 = quiet)."""
    wall = after[2] - before[2]
    if wall <= 0:
        return 0.0
    foreign = (after[0] - before[0]) - (after[1] - before[1])
    return round(max(0.0, foreign) / (wall * NCPU), 3)


def loadavg():
    """The 1-minute load average (counts this benchmark's own threads too)."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])
