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


# A measurement during which other processes used more than this share of the CPUs counts as contended.
QUIET_SHARE = 0.10


def wait_quiet(max_wait_s, window_s=0.5):
    """Sleeps until other processes used at most QUIET_SHARE of the CPUs over window_s, for at most max_wait_s
    seconds; returns (seconds waited, whether the machine was quiet)."""
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait_s:
        before = sample()
        time.sleep(window_s)
        if foreign_share(before, sample()) <= QUIET_SHARE:
            return round(time.perf_counter() - start, 1), True
    return round(time.perf_counter() - start, 1), False


class QuietWaiter:
    """Starts measurements on a quiet machine, waiting at most `budget_s` seconds in all over a run."""

    def __init__(self, budget_s):
        self.left = max(0.0, budget_s)
        self.waited = 0.0

    def quietly(self, measure):
        """Runs measure() -> (result, foreign share) once other processes have left the CPUs; when they used more than
        QUIET_SHARE meanwhile and waiting had found a quiet machine, waits and measures once more.
        Returns (result, share, seconds waited)."""
        waited = 0.0
        for _ in range(2):
            w, quiet = wait_quiet(self.left)
            self.left -= w
            waited += w
            result, share = measure()
            if share <= QUIET_SHARE or not quiet:
                break
        self.waited += waited
        return result, share, waited
