#!/usr/bin/env python3
"""TrainingLab beside PyTorch on this machine (`make bench-peer`): runs `tlab bench --json` for the cases of
peer_cases.py, then the PyTorch side (torch_side.py in the virtual environment) with glibc's default malloc, then
again with a malloc that keeps freed memory mapped, one after the other, and prints one table: ours, PyTorch eager,
PyTorch's best configuration, the ratio and issue 10's target for the row. Records the CPU, PyTorch's build (BLAS,
oneDNN), thread counts and how much CPU other processes used during each part; --out writes it all as JSON lines.

Plain standard library (system python3); only torch_side.py needs the virtual environment."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import peer_load  # noqa: E402
from peer_cases import BY_NAME, CASES, MODELS  # noqa: E402

# glibc malloc that keeps freed memory mapped, so that a step does not page-fault its activations in again.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(16 << 30)}


def fail(message):
    sys.exit(f"side_by_side: {message}")


def cpu_info():
    """Model name, family/model/stepping and vector extensions of the first CPU in /proc/cpuinfo."""
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if not line.strip():
                break
            key, _, value = line.partition(":")
            info[key.strip()] = value.strip()
    flags = info.get("flags", "").split()
    return {"model_name": info.get("model name"), "family": info.get("cpu family"), "model": info.get("model"),
            "stepping": info.get("stepping"), "cpus": peer_load.NCPU,
            "vector_flags": [f for f in flags if f in ("avx", "avx2", "fma") or f.startswith("avx512")]}


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class Phases:
    """Runs the parts of the benchmark one after the other and records the load during each."""

    def __init__(self, waiter):
        self.records = []
        self.waiter = waiter

    def run(self, label, commands, env=None, quietly=False):
        """Runs each command in turn (stderr shown as it comes); returns the JSON lines of their stdout. `quietly`:
        each command is one measurement, started on a quiet machine and repeated once if others took the CPUs."""
        before, load0, out, rc, waited = peer_load.sample(), peer_load.loadavg(), [], 0, 0.0
        for cmd in commands:
            def measure():
                start = peer_load.sample()
                done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
                return done, peer_load.foreign_share(start, peer_load.sample())
            if quietly:
                done, share, wait = self.waiter.quietly(measure)
                waited += wait
            else:
                done, share = measure()
            lines = json_lines(done.stdout)
            # A quiet command is one measurement: its share is the records'. torch_side.py measures its own.
            out += [dict(r, foreign_cpu_frac=share) if quietly and "seconds" in r else r for r in lines]
            rc = rc or done.returncode
            if done.returncode:
                print(f"side_by_side: {label}: `{' '.join(cmd)}` exited with {done.returncode}", file=sys.stderr)
        after = peer_load.sample()
        self.records.append({"phase": label, "seconds": round(after[2] - before[2], 1), "exit_status": rc,
                             "foreign_cpu_frac": peer_load.foreign_share(before, after), "waited_for_quiet_s": waited,
                             "loadavg_start": load0, "loadavg_end": peer_load.loadavg()})
        return out


def our_models(tlab):
    """Parameters and forward FLOPs per sample of our models at the benchmark's shapes, from `tlab models --json`."""
    models = {}
    for name, (channels, hw) in MODELS.items():
        done = subprocess.run([tlab, "models", "--json", "--input", f"{channels}x{hw}x{hw}"], capture_output=True,
                              text=True, cwd=ROOT)
        if done.returncode:
            fail(f"`tlab models` failed: {done.stderr.strip()}")
        row = next(m for m in json.loads(done.stdout) if m["name"] == name)
        models[name] = {"parameters": int(row["parameters"]), "fwd_flops": int(row["flops"])}
    return models


def our_cases(tlab, cases, threads, reps):
    """`tlab bench --json` commands selecting the cases (its --filter takes one substring per run; a name that contains
    an earlier filter, conv_64to64_8x8_fwdbwd after conv_64to64_8x8_fwd, is already selected)."""
    filters = []
    for name in sorted({c.ours_name for c in cases}, key=len):
        if not any(f in name for f in filters):
            filters.append(name)
    return [[tlab, "bench", "--json", "--threads", str(threads), "--repeats", str(reps), "--filter", f] for f in filters]


def torch_blas(config):
    """The lines of torch.__config__.show() that name the BLAS and oneDNN, and BLAS_INFO."""
    lines = [l.strip(" -") for l in config.splitlines()
             if any(k in l for k in ("Math Kernel Library", "MKL-DNN", "oneDNN", "OpenBLAS", "CPU capability"))]
    blas = [kv for l in config.splitlines() for kv in l.replace(",", " ").split() if kv.startswith("BLAS_INFO=")]
    return lines + blas[:1]


def label(record):
    tuned = record["malloc"].startswith("tuned")
    return record["config"] + (" + tuned malloc" if tuned else "")


def join(case, ours, torch_records):
    """The row of one case: our record, PyTorch's, eager, best, ratios and the target."""
    mine = ours.get(case.ours_name)
    timed = [r for r in torch_records if r.get("case") == case.name and "seconds" in r]
    eager = next((r for r in timed if r["config"] == "eager" and r["malloc"] == "default"), None)
    best = min(timed, key=lambda r: r["seconds"], default=None)
    compiled = min((r for r in timed if r["config"] == "compile"), key=lambda r: r["seconds"], default=None)
    row = {"record": "case", "case": case.name, "kind": case.kind, "ours_case": case.ours_name, "ours": mine,
           "torch": [r for r in torch_records if r.get("case") == case.name],
           "eager_seconds": eager and eager["seconds"], "best": best and {k: best[k] for k in ("config", "malloc", "seconds")},
           "target": case.target.text, "ratio_best": None, "ratio_target": None, "met": None}
    if mine and best:
        row["ratio_best"] = best["seconds"] / mine["seconds"]
        versus = best if case.target.against == "best" else compiled
        if versus:
            row["ratio_target"] = versus["seconds"] / mine["seconds"]
            row["met"] = row["ratio_target"] >= case.target.factor
    used = [r for r in (mine, eager, best, compiled) if r]
    row["contended"] = any(r.get("foreign_cpu_frac", 0) > peer_load.QUIET_SHARE for r in used)
    return row


def table(rows):
    header = ("case", "ours", "PyTorch eager", "PyTorch best (configuration)", "ours/best", "target", "met")
    lines = []
    for row in rows:
        case = BY_NAME[row["case"]]
        mine, best = row["ours"], row["best"]
        met = "-" if row["met"] is None else ("yes" if row["met"] else "no")
        if row["met"] is not None and case.target.against == "compile":
            met += f" ({row['ratio_target']:.2f}x compile)"
        elif row["ratio_target"] is None and mine and best:
            met = "n/a (no torch.compile figure)"
        lines.append((row["case"] + ("*" if row["contended"] else ""),
                      case.rate(mine["seconds"]) if mine else "missing",
                      case.rate(row["eager_seconds"]) if row["eager_seconds"] else "-",
                      f"{case.rate(best['seconds'])} ({label(best)})" if best else "-",
                      f"{row['ratio_best']:.2f}x" if row["ratio_best"] else "-", row["target"], met))
    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    fmt = lambda r: "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()  # noqa: E731
    return [fmt(header), fmt(tuple("-" * w for w in widths))] + [fmt(r) for r in lines]


def write_atomically(path, records):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".side_by_side.", delete=False) as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="a few cases, 3 repeats, eager and channels-last only (no torch.compile, no tuned malloc)")
    ap.add_argument("--cases", help="comma-separated case names (default: all, or the quick ones)")
    ap.add_argument("--threads", type=int, help="threads on both sides (default: OMP_NUM_THREADS, else 2)")
    ap.add_argument("--reps", type=int, help="timed repetitions per case, median reported (default 5, --quick 3)")
    ap.add_argument("--out", help="write the run and the joined rows to this file as JSON lines")
    ap.add_argument("--max-wait", type=float, default=300.0,
                    help="seconds to wait in all, before measurements, for other processes to leave the CPUs (0: do not)")
    ap.add_argument("--venv", default=os.path.join(ROOT, ".venv-peer"), help="virtual environment with torch")
    ap.add_argument("--tlab", default=os.path.join(ROOT, ".build", "release", "tlab"))
    args = ap.parse_args()

    if args.threads is None:
        omp = os.environ.get("OMP_NUM_THREADS", "2")
        if not omp.isdigit() or int(omp) < 1:
            fail(f"OMP_NUM_THREADS={omp}: expected a positive integer (or pass --threads)")
        args.threads = int(omp)
    if args.threads < 1:
        fail(f"--threads {args.threads}: expected a positive integer")
    reps = args.reps or (3 if args.quick else 5)
    if reps < 1:
        fail(f"--reps {reps}: expected a positive integer")
    if args.cases:
        unknown = [n for n in args.cases.split(",") if n not in BY_NAME]
        if unknown:
            fail(f"--cases: unknown {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
        cases = [BY_NAME[n] for n in args.cases.split(",")]
    else:
        cases = [c for c in CASES if c.quick or not args.quick]
    python = os.path.join(args.venv, "bin", "python")
    if not os.access(args.tlab, os.X_OK):
        fail(f"--tlab {args.tlab} is not an executable; build it with `make release`")
    if not os.access(python, os.X_OK):
        fail(f"--venv {args.venv} has no bin/python; create it with `bench/peer_venv.sh {args.venv}` or `make bench-peer`")

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cpu = cpu_info()
    print(f"side_by_side: {len(cases)} cases, {args.threads} threads, {reps} repetitions; load average "
          f"{peer_load.loadavg():.2f} before the run", file=sys.stderr)
    models = our_models(args.tlab)
    env = {k: v for k, v in os.environ.items() if k not in TUNED_MALLOC}
    env["OMP_NUM_THREADS"] = str(args.threads)
    # torch.compile compiles in its own process (and the compilers it starts, waited for), not in a pool of worker
    # processes that outlive their jobs: the load figures would count the pool's work as other processes'.
    env["TORCHINDUCTOR_COMPILE_THREADS"] = "1"
    waiter = peer_load.QuietWaiter(args.max_wait)
    phases = Phases(waiter)

    mine = phases.run("ours", our_cases(args.tlab, cases, args.threads, reps), env, quietly=True)
    machine = next((r["machine"] for r in mine if "machine" in r), None)
    ours = {r["name"]: r for r in mine if "name" in r and "seconds" in r}

    def torch_side(label, environment):
        """One run of torch_side.py, which may wait for a quiet machine as long as the run's budget has left."""
        cmd = [python, os.path.join(HERE, "torch_side.py"), "--cases", ",".join(c.name for c in cases),
               "--threads", str(args.threads), "--reps", str(reps), "--max-wait", f"{waiter.left:.1f}",
               "--params", ",".join(f"{k}={v['parameters']}" for k, v in models.items())]
        if args.quick:
            cmd += ["--configs", "eager,channels_last", "--min-rep-s", "0.05", "--min-rep-s-model", "0.2"]
        records = phases.run(label, [cmd], environment)
        wait = sum(r.get("waited_for_quiet_s", 0) for r in records)
        waiter.left -= wait
        waiter.waited += wait
        return records

    theirs = torch_side("pytorch", env)
    if not args.quick:
        theirs += torch_side("pytorch, tuned malloc", dict(env, **TUNED_MALLOC))
    meta = next((r for r in theirs if r.get("record") == "meta"), {})
    checks = [r for r in theirs if r.get("record") == "check"]
    rows = [join(c, ours, [r for r in theirs if r.get("record") == "torch"]) for c in cases]

    print(f"CPU: {cpu['model_name']} (family {cpu['family']} model {cpu['model']}), {cpu['cpus']} CPUs, "
          f"{' '.join(cpu['vector_flags'])}")
    if machine:
        blas = machine.get("blas", {})
        print(f"TrainingLab: kernels {machine.get('kernel_isa')}, {blas.get('name')} {blas.get('version')} "
              f"(core {blas.get('core')}), {args.threads} threads")
    if meta:
        print(f"PyTorch {meta['torch']} (snntorch {meta['snntorch']}): {'; '.join(torch_blas(meta['torch_config']))}; "
              f"{meta['threads']} threads")
    print("load: " + "; ".join(f"{p['phase']}: other processes used {100 * p['foreign_cpu_frac']:.0f}% of the CPUs "
                               f"(load average {p['loadavg_start']:.2f} -> {p['loadavg_end']:.2f})" for p in phases.records)
          + f"; waited {waiter.waited:.0f} s in all for a quiet machine (--max-wait {args.max_wait:g})")
    failed = [c for c in checks if not c["ok"]]
    counts = ", ".join(f"{name} {m['parameters']}" for name, m in models.items())
    print(f"checks: {len(checks) - len(failed)} of {len(checks)} passed (parameter counts {counts}, layer shapes, "
          "LIF equations)")
    print()
    for line in table(rows):
        print(line)
    print()
    if any(r["contended"] for r in rows):
        print(f"* other processes used more than {peer_load.QUIET_SHARE:.0%} of the CPUs while a figure of this row was "
              "measured (waiting for a quiet machine and measuring once more did not help, or --max-wait ran out)")
    if args.quick:
        print("--quick: PyTorch best is over eager and channels-last with the default malloc only")
    for row in rows:
        for r in row["torch"]:
            if "error" in r:
                print(f"{row['case']} [{label(r)}] failed: {r['error'].splitlines()[0]}")
    if any(c.kind == "lif_snntorch" for c in cases):
        print("lif_forward_backward[snntorch.Leaky]: snnTorch's reset differs from ours (torch_side.lif_snntorch)")
    if args.out:
        run = {"record": "run", "started_utc": started, "argv": sys.argv[1:], "quick": args.quick,
               "threads": args.threads, "reps": reps, "cpu": cpu, "tlab_machine": machine, "torch": meta,
               "checks": checks, "phases": phases.records, "our_models": models}
        write_atomically(args.out, [run] + rows)
        print(f"wrote {args.out}")
    if any(p["exit_status"] for p in phases.records) or failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
