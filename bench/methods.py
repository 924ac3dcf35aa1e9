#!/usr/bin/python3
"""Method comparison benchmark: diff against the baseline pruning methods.

For each model, budget level, method and seed this runs `mcuprune prune --method M`, plus one
unpruned `mcuprune train` per model and seed, quantizes every trained model to int8, and
writes bench/results/RESULTS.md (RESULTS-standard.md, RESULTS-full.md in those modes), a CSV with
one row per run and an HTML page per model. The top of RESULTS.md measures the paper's three headline claims (METHOD.md).

Every run lives in WORK/<model>/<level>/<method>-s<seed>/ (WORK/<model>/unpruned-s<seed>/);
a run whose report.json exists is reused and a run with a checkpoint is resumed, so running
the same command again continues an interrupted benchmark. --jobs runs go side by side (quick
mode: 2, with one thread each; standard and full: 1, on every core).
See docs/benchmark.md. Python 3 standard library only.
"""

import argparse
import csv
import datetime
import json
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"

ALL_METHODS = ["diff", "uniform", "magnitude", "dpf", "unaware"]
PROPOSED_METHOD = "diff"
ALL_LEVELS = ["f746zg", "f446re", "tight", "ram4", "flash4", "flash16", "flash64", "flash128"]
BOARD_OF_LEVEL = {"f746zg": "nucleo-f746zg", "f446re": "nucleo-f446re"}
PROFILE_BOARDS = ["nucleo-f446re", "nucleo-f746zg"]
REFERENCE_BOARD = "nucleo-f446re"  # the unpruned resources (denominators) come from its profile
TIGHT_RAM_DIVISOR, TIGHT_FLASH_DIVISOR = 8, 20

# The paper's headline numbers (../shared/METHOD.md "Headline claims").
PAPER_REDUCTION_FACTOR = 80.0     # (a) key resource improved up to 80x ...
ACCURACY_TOLERANCE_POINTS = 2.0   # ... "with little accuracy loss": at most 2 points below unpruned
PAPER_TIME_RATIO = 1.0            # (b) the pruning run costs no more than training once
PAPER_PARETO_RATIO = 1.4          # (c) up to 1.4x less resource than the best baseline
# The method's own bar beyond the paper's claims (docs/benchmark.md "Accuracy, margin and noise").
ACCURACY_AT_4X_POINTS = 3.0       # diff at ram4 and flash4 at most this far below the unpruned model
NOISE_SD_POINTS = 1.5             # diff's seed standard deviation at every level at most this
MODE_TARGET_MINUTES = {"quick": 40, "standard": 150}   # the whole mode on 2 cores (all sittings)
INT8_WARNING_POINTS = 1.0         # list runs whose int8 accuracy is this far below float
QAT_EPOCHS = 1                    # ... and fine-tune those with quantisation-aware training

MODE_DEFAULTS = {
    # As little noise as 40 minutes on 2 cores allow (docs/benchmark.md "Modes"): 18,000 samples of
    # the training set, the whole test set (2,000 test samples alone put 0.7 points of binomial
    # noise on an 88% accuracy), three seeds of diff and of the unpruned training, and the four
    # levels and two baselines of standard mode (dpf and unaware run in full mode). Adam's
    # learning rate per model (chosen at 12,000 samples; full data picks the same): of 0.001 (the trainer's default) and 0.003,
    # the one whose unpruned training reached the higher validation accuracy at these settings,
    # seed for seed (bench/quick_lr.sh, bench/results/quick_lr.md): in 560 steps resnet8 and
    # mobilenetv2 stay under-trained at 0.001, and diff's seed SD with them.
    # 18,000 training samples (12,000 until 2026-12-05): at 12,000 diff's seed SD reached 3.53
    # (mobilenetv2 flash16, 5 seeds; 1.51 at 18,000: bench/results/quick_mnv2_seeds.md) and 2.14
    # (vgg ram4; 0.45 at 18,000: bench/results/quick_samples_probe.md). Two runs at a time with one thread each do
    # 1.4x to 1.6x the work of one run on both cores (docs/benchmark.md "Runs side by side"),
    # which pays for those samples.
    "quick": {"models": "vgg,resnet8,mobilenetv2", "epochs": 3, "limit_train": "18000",
              "limit_test": 0, "val_fraction": 0.02, "int8_test": 500, "seeds": 3, "baseline_seeds": 1,
              "levels": "f446re,ram4,flash4,flash16", "methods": "diff,uniform,magnitude",
              "lr": "vgg:0.001,resnet8:0.003,mobilenetv2:0.003", "jobs": 2},
    # Full data, the paper's two evaluation models and resnet8, four levels, diff against the
    # two baselines a user would try first. Target 2.5 hours on 2 cores; measured 110 to 112 minutes
    # at Adam's 0.001 for every model (2026-12-04 and 05), 129.6 at these rates on a slower day
    # (2026-12-05, docs/benchmark.md). The learning rate per model as in quick mode: the same
    # selection on full data (MODE=standard bench/quick_lr.sh, bench/results/standard_lr.md)
    # picks the same rates on every seed.
    "standard": {"models": "vgg,resnet8,mobilenetv2", "epochs": 3, "limit_train": "0", "limit_test": 0,
                 "val_fraction": 0.05, "int8_test": 2000, "seeds": 2, "baseline_seeds": 1,
                 "levels": "f446re,ram4,flash4,flash16", "methods": "diff,uniform,magnitude",
                 "lr": "vgg:0.001,resnet8:0.003,mobilenetv2:0.003", "jobs": 1},
    "full": {"models": "vgg,resnet8,mobilenetv2,vgg-w1,mobilenetv2-w1", "epochs": 10,
             "limit_train": "0", "limit_test": 0, "val_fraction": 0.1, "int8_test": 0, "seeds": 3, "baseline_seeds": 3,
             "levels": ",".join(ALL_LEVELS), "methods": ",".join(ALL_METHODS), "lr": "", "jobs": 1},
}
# Settings that change what a run computes: a WORK directory holds runs of one value of each.
RUN_DEFINING_SETTINGS = ["data", "epochs", "limit_train", "limit_test", "val_fraction", "int8_test",
                         "calibration_samples", "lr", "limit_train_by_model"]
# Saved by drivers from before a setting existed: the value those runs had.
RUN_DEFINING_BEFORE = {"lr": {}, "limit_train_by_model": {}}


class BenchmarkError(Exception):
    """A problem the user must fix before the benchmark can run (printed on one line)."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: the running mcuprune was asked to checkpoint and has exited."""


class Paused(Exception):
    """WORK/PAUSE existed when the next mcuprune was about to start (a clean stop between runs)."""


# ---------------------------------------------------------------------------------------------
# Settings and the plan


@dataclass
class Settings:
    mode: str
    mcuprune: Path
    data: str
    work: Path
    results: Path
    models: list
    epochs: int
    limit_train: int   # 0: all training samples (models not in limit_train_by_model)
    limit_test: int    # 0: the whole test set
    val_fraction: float  # validation share of the training set (reported, used for nothing else)
    int8_test: int     # test samples of the int8-vs-float comparison (0: as limit_test)
    seeds: int         # seeds of diff and the unpruned training
    baseline_seeds: int  # seeds of each model's best baseline (the others run seed 1 only)
    methods: list
    levels: list
    threads: int       # None: mcuprune's default (every core)
    calibration_samples: int
    lr: dict           # model name -> Adam's learning rate ("--lr"); absent: the trainer's default
    command_line: str  # the command that reproduces this benchmark
    lr_given: bool = False  # --lr given (not the mode's default)
    limit_train_by_model: dict = field(default_factory=dict)  # model name -> training samples (0: all)
    jobs: int = 1      # mcuprune processes at a time


@dataclass
class ModelSpec:
    name: str    # as shown in the results: vgg, vgg-w1, ...
    zoo: str     # zoo model given to --model
    width: str   # --width, or None for the zoo default

    def cli_args(self):
        return ["--model", self.zoo] + (["--width", self.width] if self.width else [])


def parse_model_spec(name):
    """`vgg` is the zoo default; `vgg-w1` (`NAME-wX`) is NAME with --width X."""
    match = re.fullmatch(r"(.+)-w([0-9]*\.?[0-9]+)", name)
    if match:
        return ModelSpec(name, match.group(1), match.group(2))
    return ModelSpec(name, name, None)


def split_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_settings(argv):
    parser = argparse.ArgumentParser(
        description="Compare pruning methods (diff, uniform, magnitude, dpf, unaware) across "
                    "models, budget levels and seeds; writes bench/results/RESULTS.md, a CSV "
                    "and plots (docs/benchmark.md).")
    parser.add_argument("--mode", choices=sorted(MODE_DEFAULTS), default="quick",
                        help="quick (make bench), standard (make bench-standard) or full (make bench-full): "
                             "sets the defaults below")
    parser.add_argument("--build", default=str(REPO_ROOT / "build"), help="build directory holding mcuprune")
    parser.add_argument("--data", default="fashion-mnist",
                        help="fashion-mnist, mnist, or a path (IDX dir, CIFAR-10 binary dir, image folder)")
    parser.add_argument("--work", help="run directory (default bench/work/methods-MODE); reused to continue")
    parser.add_argument("--results", default=str(REPO_ROOT / "bench" / "results"),
                        help="where RESULTS.md, the CSV and plots/ go (default bench/results)")
    parser.add_argument("--models", help="comma list; NAME-wX means zoo NAME with --width X")
    parser.add_argument("--epochs", type=int, help="training epochs of every run")
    parser.add_argument("--limit-train", help="training samples (0: all): N for every model, and/or MODEL:N,... "
                                              "(e.g. 12000,mobilenetv2:18000; MODEL:N alone keeps the mode's N "
                                              "for the other models)")
    parser.add_argument("--limit-test", type=int, help="test samples (0: all)")
    parser.add_argument("--val-fraction", type=float, help="validation share of the training set")
    parser.add_argument("--int8-test", type=int, help="test samples for the int8 vs float comparison (0: as --limit-test)")
    parser.add_argument("--seeds", type=int, help="seeds for diff and the unpruned training")
    parser.add_argument("--baseline-seeds", type=int,
                        help="seeds for each model's best baseline (the other baselines run seed 1 only)")
    parser.add_argument("--methods", help="comma list of: " + ",".join(ALL_METHODS))
    parser.add_argument("--levels", help="comma list of: f746zg, f446re, tight, flashK, ramK (K = divisor)")
    parser.add_argument("--jobs", type=int, help="mcuprune runs at a time (quick mode's default 2, else 1); "
                                                 "each gets cores / jobs threads unless --threads says otherwise")
    parser.add_argument("--threads", type=int, help="--threads for mcuprune (default: its own, all cores, "
                                                    "with one job; cores / jobs with more)")
    parser.add_argument("--lr", help="learning rate of every run: LR for every model, or MODEL:LR,... "
                                     "(a model not named: the trainer's default); quick and standard modes' default is per model")
    parser.add_argument("--calibration-samples", type=int, default=200, help="int8 calibration samples")
    args = parser.parse_args(argv)

    defaults = MODE_DEFAULTS[args.mode]
    pick = lambda value, key: defaults[key] if value is None else value
    models = split_list(pick(args.models, "models"))
    methods = split_list(pick(args.methods, "methods"))
    levels = split_list(pick(args.levels, "levels"))
    for method in methods:
        if method not in ALL_METHODS:
            parser.error(f"unknown method '{method}' (known: {', '.join(ALL_METHODS)})")
    for level in levels:
        if level not in BOARD_OF_LEVEL and level != "tight" and not re.fullmatch(r"(flash|ram)[1-9][0-9]*", level):
            parser.error(f"unknown level '{level}' (known: f746zg, f446re, tight, flashK such as flash16, ramK such as ram4)")
    if len(set(models)) != len(models) or len(set(methods)) != len(methods) or len(set(levels)) != len(levels):
        parser.error("--models, --methods and --levels must not repeat a name")
    if not models or not methods or not levels:
        parser.error("--models, --methods and --levels need at least one name each")
    epochs, seeds = pick(args.epochs, "epochs"), pick(args.seeds, "seeds")
    baseline_seeds = pick(args.baseline_seeds, "baseline_seeds")
    limit_test = pick(args.limit_test, "limit_test")
    limit_train, limit_train_by_model = 0, {}
    texts = [str(defaults["limit_train"])]  # the mode's, then --limit-train's over it
    if args.limit_train is not None:
        given = split_list(args.limit_train)
        texts = ([] if any(":" not in item for item in given) else texts) + [args.limit_train]
    for item in split_list(",".join(texts)):
        name, _, value = item.rpartition(":")
        if not re.fullmatch(r"[0-9]+", value) or ":" in name:
            parser.error(f"--limit-train: '{item}' is not N or MODEL:N with a whole number of samples >= 0")
        if name:
            limit_train_by_model[name] = int(value)
        else:
            limit_train = int(value)
    named = {item.rpartition(":")[0] for item in split_list(args.limit_train or "")} - {""}
    unknown = sorted(named - set(models))
    if unknown:
        parser.error(f"--limit-train names {', '.join(unknown)}, which --models does not list")
    limit_train_by_model = {m: n for m, n in limit_train_by_model.items() if m in models and n != limit_train}
    jobs = pick(args.jobs, "jobs")
    if jobs < 1:
        parser.error("--jobs must be >= 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    val_fraction = pick(args.val_fraction, "val_fraction")
    int8_test = pick(args.int8_test, "int8_test")
    if int8_test < 0:
        parser.error("--int8-test must be >= 0")
    if not 0 < val_fraction < 1:
        parser.error("--val-fraction must be in (0, 1)")
    if baseline_seeds < 1 or baseline_seeds > seeds:
        parser.error("--baseline-seeds must be in [1, --seeds]")
    if epochs < 1 or seeds < 1 or limit_test < 0 or args.calibration_samples < 1:
        parser.error("--epochs, --seeds and --calibration-samples must be >= 1; limits >= 0")

    lr = {}
    lr_text = pick(args.lr, "lr")
    for item in split_list(lr_text):
        name, _, value = item.rpartition(":")
        try:
            rate = float(value)
        except ValueError:
            rate = 0.0
        if not (math.isfinite(rate) and rate > 0) or ":" in name:
            parser.error(f"--lr: '{item}' is not LR or MODEL:LR with a finite learning rate above 0")
        for model in (models if not name else [name]):
            lr[model] = f"{rate:g}"  # one spelling per value: the saved settings compare as text
    unknown = sorted(set(lr) - set(models))
    if unknown and args.lr is not None:
        parser.error(f"--lr names {', '.join(unknown)}, which --models does not list")
    lr = {model: value for model, value in lr.items() if model in models}

    data = args.data
    if data not in ("fashion-mnist", "mnist"):
        if not Path(data).exists():
            parser.error(f"--data: '{data}' is neither fashion-mnist, mnist nor an existing path")
        data = str(Path(data).resolve())
    work = Path(args.work).resolve() if args.work else REPO_ROOT / "bench" / "work" / f"methods-{args.mode}"

    explicit = ["--mode", args.mode, "--data", args.data, "--models", ",".join(models),
                "--epochs", str(epochs),
                "--limit-train", ",".join([str(limit_train)] + [f"{m}:{n}" for m, n in limit_train_by_model.items()]),
                "--limit-test", str(limit_test),
                "--val-fraction", str(val_fraction), "--int8-test", str(int8_test), "--seeds", str(seeds),
                "--baseline-seeds", str(baseline_seeds), "--methods", ",".join(methods), "--levels", ",".join(levels),
                "--calibration-samples", str(args.calibration_samples)]
    if lr or args.lr is not None:  # --lr '' (the trainer's default everywhere) differs from quick mode's
        explicit += ["--lr", ",".join(f"{model}:{value}" for model, value in lr.items())]
    explicit += ["--jobs", str(jobs)]
    if args.threads is not None:
        explicit += ["--threads", str(args.threads)]
    command_line = " ".join([PYTHON, "bench/methods.py"] + [shlex.quote(a) for a in explicit])
    tuned = [args.models, args.epochs, args.limit_train, args.limit_test, args.val_fraction, args.int8_test, args.seeds, args.baseline_seeds, args.methods,
             args.levels, args.threads, args.lr, args.jobs]
    if all(option is None for option in tuned) and args.calibration_samples == 200:
        target = "bench" if args.mode == "quick" else f"bench-{args.mode}"
        data_option = "" if args.data == "fashion-mnist" else f" DATA={shlex.quote(args.data)}"
        command_line = f"make {target}{data_option}\n\nwhich runs:\n\n    {command_line}"
    return Settings(mode=args.mode, mcuprune=Path(args.build).resolve() / "mcuprune", data=data, work=work,
                    results=Path(args.results).resolve(), models=[parse_model_spec(m) for m in models],
                    epochs=epochs, limit_train=limit_train, limit_test=limit_test, val_fraction=val_fraction, int8_test=int8_test, seeds=seeds,
                    baseline_seeds=baseline_seeds,
                    methods=methods, levels=levels, threads=args.threads if args.threads is not None or jobs == 1
                    else max(1, len(os.sched_getaffinity(0)) // jobs),
                    calibration_samples=args.calibration_samples, lr=lr, command_line=command_line,
                    lr_given=args.lr is not None, limit_train_by_model=limit_train_by_model, jobs=jobs)


def check_mcuprune(settings):
    """The binary exists and its prune command knows --method (the contract this driver needs)."""
    if not os.access(settings.mcuprune, os.X_OK):
        raise BenchmarkError(f"{settings.mcuprune} is not built; run 'make' first")
    result = subprocess.run([str(settings.mcuprune), "prune", "--help"], capture_output=True, text=True)
    if "--method" not in result.stdout + result.stderr:
        raise BenchmarkError(f"'{settings.mcuprune} prune' has no --method option; build the version "
                             "with the pruning methods first")


def check_work_directory(settings):
    """A WORK directory holds runs of one configuration; refuse to mix in runs of another."""
    settings.work.mkdir(parents=True, exist_ok=True)
    path = settings.work / "benchmark-settings.json"
    current = {key: getattr(settings, key) for key in RUN_DEFINING_SETTINGS}
    if path.exists():
        saved = json.loads(path.read_text())
        was = lambda key: saved[key] if key in saved else RUN_DEFINING_BEFORE.get(key)
        differing = [f"{key} {was(key)} -> {current[key]}" for key in current if was(key) != current[key]]
        if differing:
            raise BenchmarkError(f"{settings.work} holds runs made with other settings ({'; '.join(differing)}); "
                                 "give another --work directory or the same settings")
        if not sittings_path(settings).exists():  # a folder from before the log: earlier sittings unknown
            write_sittings(settings, {"complete": False, "sittings": []})
    else:
        path.write_text(json.dumps(current, indent=2) + "\n")
        write_sittings(settings, {"complete": True, "sittings": []})


def sittings_path(settings):
    return settings.work / "driver-sittings.json"


def write_sittings(settings, log):
    """WORK/driver-sittings.json, atomically: every sitting of the driver on this folder with its
    elapsed time; "complete" is false for a folder whose runs began before the log existed."""
    path = sittings_path(settings)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(log, indent=2) + "\n")
    os.replace(temporary, path)


def begin_sitting(settings):
    """Adds this sitting to the log as "running" (after check_work_directory made the log). A
    sitting still "running" from before ended without recording its time (killed, a crash), so
    the log no longer covers the folder's time: it is marked incomplete."""
    log = read_json(sittings_path(settings))
    if not isinstance(log, dict):
        return
    lost = [entry["date"] for entry in log["sittings"] if entry.get("ended") == "running"]
    if lost and log.get("complete"):
        log["complete"] = False
        log["incomplete_reason"] = f"the sitting of {lost[0]} ended without recording its elapsed time"
    log["sittings"].append({"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "elapsed_s": 0.0,
                            "jobs": settings.jobs, "threads": settings.threads, "ended": "running"})
    write_sittings(settings, log)


def record_sitting(settings, elapsed_s, ended):
    """Records how this sitting (the log's last entry, added by begin_sitting) ended, and its time."""
    log = read_json(sittings_path(settings))
    if not isinstance(log, dict) or not log["sittings"] or log["sittings"][-1].get("ended") != "running":
        return
    log["sittings"][-1].update({"elapsed_s": round(elapsed_s, 1), "ended": ended})
    write_sittings(settings, log)


# ---------------------------------------------------------------------------------------------
# Calling mcuprune


@dataclass
class CommandResult:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    interrupted: bool = False
    cpu_s: float = None   # user + system CPU time of the child (wait4: its own, with runs side by side too)

    def failure_reason(self):
        """The last line of stderr without mcuprune's prefix (its errors are one line)."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        if lines:
            return re.sub(r"^mcuprune: error: ", "", lines[-1])
        if self.returncode < 0:
            return f"killed by signal {-self.returncode}"
        return f"exit status {self.returncode}"

    def raise_if_interrupted(self):
        if self.interrupted:
            raise Interrupted()


SAY_LOCK = threading.Lock()


def say(text=""):
    """One line of progress on stdout, whole even with runs side by side."""
    with SAY_LOCK:
        sys.stdout.write(f"{text}\n")
        sys.stdout.flush()


class Children:
    """The mcuprune processes running now (by pid), and whether the driver has been interrupted
    (Ctrl-C or SIGTERM, caught by the main thread, which sends one SIGINT to each of them) or
    paused (WORK/PAUSE seen: no run starts after it)."""
    lock = threading.Lock()
    pids = set()
    signalled = set()
    interrupted = False
    paused = False

    @classmethod
    def interrupt(cls):
        with cls.lock:
            first = not cls.interrupted
            cls.interrupted = True
            for pid in cls.pids - cls.signalled:  # a child not yet reaped: its pid is still its own
                cls.signalled.add(pid)
                try:
                    os.kill(pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
        if first:
            say("\ninterrupted: waiting for mcuprune to save its checkpoint ...")


def call_mcuprune(settings, args, log_path=None, pausable=True):
    """Runs BUILD/mcuprune ARGS and waits. The child gets its own session, so a Ctrl-C reaches
    only this driver, which forwards exactly one SIGINT to each running child (mcuprune
    checkpoints on the first and exits at once on a second). The caller records the result,
    then raise_if_interrupted(). A file WORK/PAUSE stops the driver here, before the next run
    starts, so that no run's time includes a lost partial epoch; the file is removed, the runs
    already running finish (with their int8 checks: pausable=False), no other starts, and the same
    command continues later. Safe to call from several threads: CPU time is the child's own
    (wait4), not the driver's children's total."""
    pause = settings.work / "PAUSE"
    command = [str(settings.mcuprune)] + [str(a) for a in args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        with Children.lock:  # checked and started under one lock: an interruption sees every child
            if Children.interrupted:
                raise Interrupted()
            if pausable and (Children.paused or pause.exists()):
                if pause.exists():
                    pause.unlink()
                Children.paused = True
                raise Paused()
            start = time.monotonic()
            process = subprocess.Popen(command, stdout=out, stderr=err, text=True, start_new_session=True)
            Children.pids.add(process.pid)
        while True:  # until it has exited, without reaping it (WNOWAIT): its pid stays its own
            try:
                os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
                break
            except InterruptedError:
                continue
            except KeyboardInterrupt:  # the main thread with one job: forward it and wait on
                Children.interrupt()
        with Children.lock:
            Children.pids.discard(process.pid)
            Children.signalled.discard(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        returncode = os.waitstatus_to_exitcode(status)
        process.returncode = returncode  # reaped here: the Popen object must not wait for it
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    interrupted = Children.interrupted or returncode in (130, -signal.SIGINT)
    result = CommandResult(returncode, stdout, stderr, time.monotonic() - start, interrupted,
                           usage.ru_utime + usage.ru_stime)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as log:
            log.write(f"$ {shlex.join(command)}\n# exit {result.returncode}, {result.wall_s:.1f} s\n")
            for text in (stdout, stderr):
                log.write(text if not text or text.endswith("\n") else text + "\n")
    return result


class Scheduler:
    """Runs tasks on `jobs` threads (each task calls mcuprune and waits): a task starts once the
    tasks it waits for have finished, the costliest ready one first (ties: the order added), so
    that the long runs do not come last. A task may add tasks. A task that raises (Interrupted,
    Paused, anything else) stops new tasks from starting; the running ones end (an interruption
    has made their mcuprune checkpoint and exit), and run() raises a real error before an
    interruption, an interruption before a pause."""

    def __init__(self, jobs):
        self.jobs = jobs
        self.condition = threading.Condition()
        self.pending = []      # [order, name, function, after, cost]
        self.finished = set()
        self.running = 0
        self.order = 0
        self.errors = []

    def add(self, name, function, after=(), cost=0.0):
        with self.condition:
            self.pending.append([self.order, name, function, set(after), cost])
            self.order += 1
            self.condition.notify_all()

    def _next(self):
        """The task to start, or None when nothing is ready (called with the lock held)."""
        if self.errors:
            return None
        ready = [task for task in self.pending if task[3] <= self.finished]
        if not ready:
            return None
        task = max(ready, key=lambda t: (t[4], -t[0]))
        self.pending.remove(task)
        return task

    def _worker(self):
        while True:
            with self.condition:
                while True:
                    task = self._next()
                    if task is not None or self.running == 0 or self.errors:
                        break
                    self.condition.wait()
                if task is None:
                    self.condition.notify_all()
                    return
                self.running += 1
            try:
                task[2]()
            except BaseException as error:  # noqa: BLE001 - handed to run()
                with self.condition:
                    self.errors.append(error)
            finally:
                with self.condition:
                    self.running -= 1
                    self.finished.add(task[1])
                    self.condition.notify_all()

    def run(self):
        if self.jobs == 1:
            self._worker()  # in the main thread: Ctrl-C reaches call_mcuprune's wait directly
        else:
            threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.jobs)]
            while any(thread.is_alive() or thread.ident is None for thread in threads):
                try:  # never leaves before every worker (and so every child) has ended
                    for thread in threads:
                        if thread.ident is None:
                            thread.start()
                    for thread in threads:
                        thread.join(0.5)
                except KeyboardInterrupt:
                    Children.interrupt()
        control = (Interrupted, Paused, KeyboardInterrupt)
        failures = [e for e in self.errors if not isinstance(e, control)]
        if failures:  # a real error first; the others are said, not lost
            for error in failures[1:]:
                print(f"bench/methods.py: also: {type(error).__name__}: {error}", file=sys.stderr)
            raise failures[0]
        if Children.interrupted or any(isinstance(e, (Interrupted, KeyboardInterrupt)) for e in self.errors):
            raise Interrupted()
        if self.errors:
            raise self.errors[0]
        if self.pending:  # cannot happen: every task waits only for tasks added before it
            raise BenchmarkError("tasks left waiting: " + ", ".join(t[1] for t in self.pending))


def limit_train(settings, model):
    """Training samples of the model's runs (0: all)."""
    return settings.limit_train_by_model.get(model, settings.limit_train)


def data_args(settings, model, epochs=None):
    args = ["--dataset", settings.data, "--epochs", epochs or settings.epochs]
    if samples := limit_train(settings, model):
        args += ["--limit-train", samples]
    if settings.limit_test:
        args += ["--limit-test", settings.limit_test]
    return args + ["--val-fraction", settings.val_fraction] + thread_args(settings)


def lr_args(settings, spec):
    """--lr for the model's runs where the mode or --lr sets one (else the trainer's default)."""
    return ["--lr", settings.lr[spec.name]] if spec.name in settings.lr else []


def thread_args(settings):
    return [] if settings.threads is None else ["--threads", settings.threads]


def read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def lookup(document, dotted_key):
    """document['a']['b'] for 'a.b', or None when any part is missing."""
    value = document
    for key in dotted_key.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# ---------------------------------------------------------------------------------------------
# One run: train or prune (reused, resumed or fresh), then quantize


@dataclass
class Run:
    model: str
    level: str      # "unpruned" for the unpruned training
    method: str     # "unpruned" for the unpruned training
    seed: int
    directory: Path
    budget_args: list = field(default_factory=list)
    status: str = "not run"   # ok | budgets not met | failed | not run
    reason: str = ""
    reused: bool = False
    resumed: bool = False
    wall_s: float = None      # the report's wall_time_s; the driver's sum over attempts if resumed
    cpu_s: float = None       # CPU time of the process (all attempts), from the driver's wait4
    report: dict = None
    quant: dict = None
    qat: dict = None          # the "qat" part of run.directory/qat/quant_report.json, where QAT ran
    quant_reason: str = ""
    resources: dict = None    # resources.after of a prune report; the profile totals if unpruned

    @property
    def label(self):
        what = "unpruned" if self.method == "unpruned" else f"{self.level} {self.method}"
        return f"{self.model} {what} s{self.seed}"

    @property
    def has_model(self):
        return self.report is not None

    @property
    def test_accuracy(self):
        return lookup(self.report, "accuracy.test") if self.report else None

    @property
    def int8_accuracy(self):
        return lookup(self.quant, "accuracy.int8") if self.quant else None

    @property
    def int8_minus_float_points(self):
        """From the quantize report alone: float and int8 on the same test samples."""
        if not self.quant:
            return None
        float_accuracy, int8_accuracy = lookup(self.quant, "accuracy.float"), lookup(self.quant, "accuracy.int8")
        if float_accuracy is None or int8_accuracy is None:
            return None
        return 100.0 * (int8_accuracy - float_accuracy)

    @property
    def fallbacks(self):
        """The report's fallbacks, or None when the report has no such key."""
        return self.report.get("fallbacks") if self.report else None

    def resource(self, key):
        return None if self.resources is None else self.resources.get(key)


def checkpoint_state_file(subcommand):
    return "prune_state.json" if subcommand == "prune" else "state.json"


def attempts_path(run):
    return run.directory / "driver-attempts.json"


def train_or_prune(settings, run, subcommand, fresh_args):
    """Makes run.directory/report.json: reuses it, resumes the run's checkpoint, or runs afresh.
    A run without a report afterwards is recorded as failed with mcuprune's error line. Every
    invocation is logged in driver-attempts.json (the wall time of a resumed run is their sum)."""
    report_path = run.directory / "report.json"
    if report_path.exists():
        run.reused = True
    else:
        run.directory.mkdir(parents=True, exist_ok=True)
        checkpoint = run.directory / "checkpoint"
        if (checkpoint / checkpoint_state_file(subcommand)).exists():
            args = [subcommand, "--resume", run.directory, "--quiet"] + thread_args(settings)
            kind, attempts = "resume", read_json(attempts_path(run)) or []
        else:
            if checkpoint.exists():  # an attempt that died before its first checkpoint
                shutil.rmtree(checkpoint)
            args = [subcommand] + fresh_args + ["--quiet", "--out", run.directory]
            kind, attempts = "fresh", []
        result = call_mcuprune(settings, args, run.directory / "driver.log")
        attempts.append({"kind": kind, "returncode": result.returncode, "wall_s": round(result.wall_s, 3),
                         "cpu_s": round(result.cpu_s, 3),
                         "reason": "" if result.returncode == 0 else result.failure_reason()})
        attempts_path(run).write_text(json.dumps(attempts, indent=2) + "\n")
        result.raise_if_interrupted()
        if not report_path.exists():
            run.status, run.reason = "failed", result.failure_reason()
            return
    run.report = read_json(report_path)
    if run.report is None:
        run.status, run.reason = "failed", f"unreadable {report_path}"
        return
    attempts = read_json(attempts_path(run)) or []
    run.resumed = any(a["kind"] == "resume" for a in attempts)
    run.wall_s = sum(a["wall_s"] for a in attempts) if run.resumed else run.report.get("wall_time_s")
    if attempts and all(a.get("cpu_s") is not None for a in attempts):
        run.cpu_s = sum(a["cpu_s"] for a in attempts)  # includes loading and writing: driver-side
    if subcommand == "prune":
        run.resources = lookup(run.report, "resources.after")
        met = run.report.get("budgets_met")
        run.status = "ok" if met else "budgets not met"
        if not met:
            run.reason = "the pruned model does not meet every budget"
    else:
        run.status = "ok"


def call_quantize(settings, run, extra_args):
    """`mcuprune quantize` of the run's model on the int8 test samples, with `extra_args`."""
    args = ["quantize", "--model", run.directory, "--dataset", settings.data,
            "--calibration-samples", settings.calibration_samples] + extra_args + thread_args(settings)
    int8_samples = settings.int8_test or settings.limit_test
    if int8_samples:
        args += ["--limit-test", int8_samples]
    result = call_mcuprune(settings, args, run.directory / "driver.log", pausable=False)  # part of its run
    result.raise_if_interrupted()
    return result


def quantize(settings, run):
    """int8 accuracy of the run's model: run.directory/quant_report.json (reused if present)."""
    if not run.has_model:
        return None
    path = run.directory / "quant_report.json"
    started = time.monotonic()
    if not path.exists():
        result = call_quantize(settings, run, ["--report", path])
        if result.returncode != 0 or not path.exists():
            run.quant_reason = result.failure_reason()
    run.quant = read_json(path)
    drop = run.int8_minus_float_points
    if drop is not None and drop < -INT8_WARNING_POINTS and QAT_EPOCHS > 0:
        quantize_aware(settings, run)
    return time.monotonic() - started


def quantize_aware(settings, run):
    """Quantisation-aware fine-tuning of a run whose post-training int8 lost more than
    INT8_WARNING_POINTS: run.directory/qat (reused if present), on the run's own training data."""
    out = run.directory / "qat"
    path = out / "quant_report.json"
    if not path.exists():
        if out.exists():
            shutil.rmtree(out)  # an interrupted fine-tuning: start it again (it is one epoch)
        args = ["--qat-epochs", QAT_EPOCHS, "--out", out, "--seed", run.seed,
                "--val-fraction", settings.val_fraction, "--quiet"]
        if samples := limit_train(settings, run.model):
            args += ["--limit-train", samples]
        result = call_quantize(settings, run, args)
        if result.returncode != 0 or not path.exists():
            run.quant_reason = "qat: " + result.failure_reason()
            return
    run.qat = lookup(read_json(path) or {}, "qat")


def print_progress(run, quantize_s):
    if run.status == "failed":
        reason = run.reason if len(run.reason) <= 110 else run.reason[:107] + "..."
        say(f"  {run.label:<34} FAILED: {reason}")
        return
    wall = "reused" if run.reused else f"{run.wall_s:7.1f} s" if run.wall_s is not None else "   ? s"
    int8 = f"{run.int8_accuracy:.4f}" if run.int8_accuracy is not None else f"failed ({run.quant_reason})"
    quant = "" if quantize_s is None or quantize_s < 0.5 else f" (+{quantize_s:.0f} s int8)"
    budgets = "" if run.method == "unpruned" else "  budgets met" if run.status == "ok" else "  BUDGETS NOT MET"
    say(f"  {run.label:<34} {wall:>9}{quant}  test {run.test_accuracy:.4f}  int8 {int8}{budgets}")


# ---------------------------------------------------------------------------------------------
# Per model: unpruned training, its profile, the budget levels and the flash floor


@dataclass
class Level:
    name: str
    budget_args: list
    skipped_reason: str = ""   # set when the level does not apply to this model


@dataclass
class ModelState:
    spec: ModelSpec
    unpruned: dict = field(default_factory=dict)   # seed -> Run
    profiles: dict = field(default_factory=dict)   # board -> profile JSON of the unpruned model
    levels: list = field(default_factory=list)
    runs: dict = field(default_factory=dict)       # (level, method, seed) -> Run
    flash_floor_bytes: int = None
    flash_floor_message: str = ""
    best_baseline: str = None
    best_baseline_basis: str = ""
    failed_reason: str = ""     # set when the unpruned seed-1 model could not be trained or profiled

    @property
    def name(self):
        return self.spec.name

    @property
    def active_levels(self):
        return [level for level in self.levels if not level.skipped_reason]

    def unpruned_totals(self):
        return lookup(self.profiles.get(REFERENCE_BOARD) or {}, "totals") or {}

    def cell(self, level, method):
        """The runs of one table row: every seed run for this level and method, by seed."""
        return [run for (lvl, m, _), run in sorted(self.runs.items(), key=lambda kv: kv[0][2])
                if lvl == level and m == method]


def train_unpruned(settings, state, seed):
    run = Run(state.name, "unpruned", "unpruned", seed, settings.work / state.name / f"unpruned-s{seed}")
    train_or_prune(settings, run, "train", state.spec.cli_args() + data_args(settings, state.name) + lr_args(settings, state.spec)
                   + ["--seed", seed])
    quantize_s = quantize(settings, run)
    state.unpruned[seed] = run
    if run.has_model and not run.resources:
        run.resources = state.unpruned_totals() or None
    print_progress(run, quantize_s)
    return run


def profile_unpruned(settings, state):
    """Profiles of the seed-1 unpruned model on the reference and the F746ZG boards (the
    architecture, hence the profile, is the same for every seed). Returns an error or ""."""
    run = state.unpruned[1]
    for board in PROFILE_BOARDS:
        path = run.directory / f"profile-{board}.json"
        if not path.exists():
            result = call_mcuprune(settings, ["profile", "--model", run.directory, "--board", board, "--json"])
            result.raise_if_interrupted()
            if result.returncode != 0 or read_json_text(result.stdout) is None:
                return f"profile --board {board} of the unpruned model failed: {result.failure_reason()}"
            path.write_text(result.stdout)
        state.profiles[board] = read_json(path)
    run.resources = state.unpruned_totals()
    return ""


def read_json_text(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def fits_unpruned(profile):
    """None if some budget of the board is exceeded, else a sentence saying by how much it fits."""
    budgets = profile.get("budgets") or []
    if not budgets or not all(b.get("fits") for b in budgets):
        return None
    parts = [f"{b['resource']} {format_amount(b['used'], b.get('unit'))} of {format_amount(b['budget'], b.get('unit'))}"
             for b in budgets]
    return "the unpruned model already fits (" + ", ".join(parts) + ")"


def budget_levels(settings, state):
    """The budget options of each level, from this model's unpruned profile."""
    totals = state.unpruned_totals()
    ram0, flash0 = int(totals["ram_bytes"]), int(totals["flash_bytes"])
    levels = []
    for name in settings.levels:
        if name in BOARD_OF_LEVEL:
            board = BOARD_OF_LEVEL[name]
            levels.append(Level(name, ["--board", board], fits_unpruned(state.profiles[board]) or ""))
        elif name == "tight":
            levels.append(Level(name, ["--ram", ram0 // TIGHT_RAM_DIVISOR, "--flash", flash0 // TIGHT_FLASH_DIVISOR]))
        elif name.startswith("ram"):
            levels.append(Level(name, ["--ram", ram0 // int(name[len("ram"):])]))
        else:
            levels.append(Level(name, ["--flash", flash0 // int(name[len("flash"):])]))
    return levels


FLOOR_PATTERN = re.compile(r"minimum width the model needs ([0-9]+(?:\.[0-9]+)?) ?(B|bytes|KiB|MiB|GiB)\b")
UNIT_BYTES = {"B": 1, "bytes": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}


def parse_flash_floor(message):
    """Bytes from "... even with every prunable group at its minimum width the model needs 12.3 KiB ..."
    (check_prune_feasible; the value is printed with 1 decimal in KiB, 2 in MiB)."""
    match = FLOOR_PATTERN.search(message)
    if not match or "flash budget" not in message:
        return None
    return int(round(float(match.group(1)) * UNIT_BYTES[match.group(2)]))


def measure_flash_floor(settings, state):
    """The smallest flash the model reaches with every prunable group at its minimum width: a
    prune with --flash 1 fails before training and names it."""
    path = settings.work / state.name / "flash-floor.json"
    saved = read_json(path)
    if saved is None or saved.get("floor_bytes") is None:
        args = (["prune", "--method", PROPOSED_METHOD] + state.spec.cli_args() + data_args(settings, state.name)
                + ["--seed", 1, "--flash", 1, "--quiet", "--out", settings.work / state.name / "flash-floor"])
        result = call_mcuprune(settings, args, settings.work / state.name / "flash-floor.log")
        result.raise_if_interrupted()
        message = result.failure_reason() if result.returncode != 0 else "prune --flash 1 did not fail"
        saved = {"floor_bytes": parse_flash_floor(message), "message": message}
        path.write_text(json.dumps(saved, indent=2) + "\n")
    state.flash_floor_bytes, state.flash_floor_message = saved["floor_bytes"], saved["message"]
    floor = format_amount(state.flash_floor_bytes, "bytes") if state.flash_floor_bytes else "unknown"
    say(f"  {state.name + ' flash floor':<34} {floor}")


def prune_run(settings, state, level, method, seed):
    key = (level.name, method, seed)
    if key in state.runs:
        return state.runs[key]
    run = Run(state.name, level.name, method, seed,
              settings.work / state.name / level.name / f"{method}-s{seed}", budget_args=level.budget_args)
    fresh = (["--method", method] + state.spec.cli_args() + data_args(settings, state.name) + lr_args(settings, state.spec)
             + ["--seed", seed] + level.budget_args)
    train_or_prune(settings, run, "prune", fresh)
    if run.has_model and run.report.get("method") not in (None, method):
        run.reason = f"report says method '{run.report.get('method')}'"
    quantize_s = quantize(settings, run)
    state.runs[key] = run
    print_progress(run, quantize_s)
    return run


def choose_best_baseline(settings, state):
    """The non-diff method with the highest mean seed-1 test accuracy over this model's levels.
    Only runs that met their budgets count; the mean is over the levels where every baseline
    has such a run (or over each method's own levels when no level is shared)."""
    baselines = [m for m in settings.methods if m != PROPOSED_METHOD]
    if not baselines:
        state.best_baseline_basis = "no baseline method in --methods"
        return
    accuracy = {}
    for method in baselines:
        accuracy[method] = {}
        for level in state.active_levels:
            run = state.runs.get((level.name, method, 1))
            if run is not None and run.status == "ok":
                accuracy[method][level.name] = run.test_accuracy
    common = [level.name for level in state.active_levels if all(level.name in accuracy[m] for m in baselines)]
    scores = {}
    for method in baselines:
        levels = common or list(accuracy[method])
        if levels:
            scores[method] = statistics.mean(accuracy[method][lvl] for lvl in levels)
    if not scores:
        state.best_baseline_basis = "no baseline run met its budgets"
        return
    state.best_baseline = max(scores, key=lambda m: (scores[m], -baselines.index(m)))
    basis = "levels " + ", ".join(common) if common else "each method's own levels (no level shared by all)"
    state.best_baseline_basis = (f"mean seed-1 test accuracy over {basis}: "
                                 + ", ".join(f"{m} {100 * s:.2f} %" for m, s in
                                             sorted(scores.items(), key=lambda kv: -kv[1])))


def run_benchmark(settings):
    """Per model: the unpruned seed-1 training, its profile, the levels and the flash floor;
    then seed 1 of every method at every level, and seeds 2..N of the unpruned training and of
    diff (each after its level's seed 1); then seeds 2..N of the model's best baseline, once
    its seed-1 runs have chosen it. --jobs runs at a time (Scheduler), the models' preparation
    first, then the runs of the model whose unpruned training took longest."""
    states = [ModelState(spec) for spec in settings.models]
    scheduler = Scheduler(settings.jobs)
    for state in states:
        scheduler.add(f"{state.name} prepare", lambda state=state: prepare_model(settings, state, scheduler),
                      cost=math.inf)
    scheduler.run()
    return states


def prepare_model(settings, state, scheduler):
    """The unpruned seed-1 training, profile, levels and flash floor of one model; then adds its
    runs to the scheduler, each at the cost of the unpruned training."""
    name = state.name
    say(f"{name}: unpruned training, profile and budget levels")
    run = train_unpruned(settings, state, 1)
    if run.status == "failed":
        state.failed_reason = f"the unpruned training failed: {run.reason}"
        return
    state.failed_reason = profile_unpruned(settings, state)
    if state.failed_reason:
        say(f"  {name}: {state.failed_reason}")
        return
    state.levels = budget_levels(settings, state)
    for level in state.levels:
        if level.skipped_reason:
            say(f"  {name + ' ' + level.name:<34} skipped: {level.skipped_reason}")
    measure_flash_floor(settings, state)
    cost = run.wall_s or 0.0
    baselines = []
    for level in state.active_levels:
        for method in settings.methods:
            task = f"{name} {level.name} {method} s1"
            scheduler.add(task, lambda level=level, method=method: prune_run(settings, state, level, method, 1), cost=cost)
            if method != PROPOSED_METHOD:
                baselines.append(task)
    for seed in range(2, settings.seeds + 1):
        scheduler.add(f"{name} unpruned s{seed}", lambda seed=seed: train_unpruned(settings, state, seed), cost=cost)
        for level in state.active_levels:
            if PROPOSED_METHOD in settings.methods:
                scheduler.add(f"{name} {level.name} {PROPOSED_METHOD} s{seed}",
                              lambda level=level, seed=seed: repeat_run(settings, state, level, PROPOSED_METHOD, seed),
                              after=[f"{name} {level.name} {PROPOSED_METHOD} s1"], cost=cost)
    scheduler.add(f"{name} best baseline", lambda: repeat_best_baseline(settings, state, scheduler, cost),
                  after=baselines, cost=math.inf)
    say(f"{name}: seed 1 of every method at every level"
          + (f", seeds 2..{settings.seeds} of unpruned and {PROPOSED_METHOD}" if settings.seeds > 1 else ""))


def repeat_best_baseline(settings, state, scheduler, cost):
    """Chooses the model's best baseline from its seed-1 runs; adds its seeds 2..baseline_seeds."""
    choose_best_baseline(settings, state)
    if state.best_baseline is None or settings.baseline_seeds < 2:
        return
    say(f"{state.name}: best baseline {state.best_baseline}, seeds 2..{settings.baseline_seeds}")
    for seed in range(2, settings.baseline_seeds + 1):
        for level in state.active_levels:
            scheduler.add(f"{state.name} {level.name} {state.best_baseline} s{seed}",
                          lambda level=level, seed=seed: repeat_run(settings, state, level, state.best_baseline, seed),
                          cost=cost)


def repeat_run(settings, state, level, method, seed):
    """A further seed of a level and method, unless seed 1 found the budgets unreachable."""
    if not budget_unreachable(state.runs.get((level.name, method, 1))):
        prune_run(settings, state, level, method, seed)


def budget_unreachable(run):
    """The run failed the check at minimum widths, which no other seed can pass either."""
    return run is not None and run.status == "failed" and "cannot be met: even with every prunable group" in run.reason


# ---------------------------------------------------------------------------------------------
# Aggregation and the claims


def mean_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def trained(runs):
    """Runs that produced a model (budgets met or not)."""
    return [run for run in runs if run.has_model]


def unpruned_accuracy(state, seeds):
    """Mean unpruned test accuracy over the given seeds (all seeds when none of them ran)."""
    runs = [state.unpruned[s] for s in seeds if s in state.unpruned and state.unpruned[s].has_model]
    runs = runs or trained(state.unpruned.values())
    return mean_or_none(run.test_accuracy for run in runs)


@dataclass
class LevelPoint:
    """Seed means of one method at one level."""
    level: str
    accuracy: float
    accuracy_min: float
    accuracy_max: float
    seeds: list
    peak_sram_bytes: float
    flash_bytes: float
    macs: float


def level_points(state, method):
    points = []
    for level in state.active_levels:
        runs = trained(state.cell(level.name, method))
        if not runs:
            continue
        accuracies = [run.test_accuracy for run in runs]
        points.append(LevelPoint(level.name, statistics.mean(accuracies), min(accuracies), max(accuracies),
                                 [run.seed for run in runs],
                                 mean_or_none(run.resource("peak_sram_bytes") for run in runs),
                                 mean_or_none(run.resource("flash_bytes") for run in runs),
                                 mean_or_none(run.resource("macs") for run in runs)))
    return points


REDUCED_RESOURCES = [("flash_bytes", "flash"), ("macs", "MACs"), ("peak_sram_bytes", "peak SRAM")]


def claim_reduction(state):
    """(a): the largest unpruned/pruned factor per resource among diff levels whose seed-mean
    accuracy is at most 2 points below the unpruned model's (same seeds)."""
    totals = state.unpruned_totals()
    best = {key: None for key, _ in REDUCED_RESOURCES}   # key -> (factor, level, accuracy drop)
    smallest_drop = None                                  # (drop in points, level)
    for point in level_points(state, PROPOSED_METHOD):
        reference = unpruned_accuracy(state, point.seeds)
        drop_points = 100.0 * (reference - point.accuracy)
        if smallest_drop is None or drop_points < smallest_drop[0]:
            smallest_drop = (drop_points, point.level)
        if drop_points > ACCURACY_TOLERANCE_POINTS:
            continue
        for key, _ in REDUCED_RESOURCES:
            pruned = getattr(point, key)
            if pruned and totals.get(key):
                factor = totals[key] / pruned
                if best[key] is None or factor > best[key][0]:
                    best[key] = (factor, point.level, drop_points)
    floor_factor = (totals["flash_bytes"] / state.flash_floor_bytes
                    if state.flash_floor_bytes and totals.get("flash_bytes") else None)
    return best, floor_factor, smallest_drop


@dataclass
class TimeRatio:
    level: str
    seed: int
    wall: float   # wall(diff) / wall(unpruned), same seed
    cpu: float    # the same with CPU time (None where a run predates its recording)


def claim_time(state):
    """(b): per diff run, its wall time over the unpruned training's of the same seed (and the
    same with CPU time, which other load on the machine disturbs less)."""
    ratios = []
    resumed = False
    for level in state.active_levels:
        for run in trained(state.cell(level.name, PROPOSED_METHOD)):
            reference = state.unpruned.get(run.seed)
            if reference and reference.wall_s and run.wall_s is not None:
                cpu = run.cpu_s / reference.cpu_s if run.cpu_s and reference.cpu_s else None
                ratios.append(TimeRatio(level.name, run.seed, run.wall_s / reference.wall_s, cpu))
                resumed = resumed or run.resumed or reference.resumed
    return ratios, resumed


def time_claim_line(state):
    """One line of claim (b): reproduced when every diff run is at most PAPER_TIME_RATIO."""
    ratios, resumed = claim_time(state)
    if not ratios:
        return f"- {state.name}: no diff run: not measured"
    worst = max(ratios, key=lambda r: r.wall)
    per_level = ", ".join(f"{level} {statistics.median(r.wall for r in ratios if r.level == level):.2f}"
                          for level in dict.fromkeys(r.level for r in ratios))
    walls = [r.wall for r in ratios]
    cpus = [r.cpu for r in ratios if r.cpu is not None]
    cpu = (f"; CPU time: median {statistics.median(cpus):.2f}x, max {max(cpus):.2f}x" if cpus else "")
    over = sum(w > PAPER_TIME_RATIO for w in walls)
    note = " (some runs were resumed: their time is the sum of the driver's attempts)" if resumed else ""
    return (f"- {state.name}: {len(walls)} runs, median {statistics.median(walls):.2f}x, max {worst.wall:.2f}x "
            f"at {worst.level} s{worst.seed}, {over} above {PAPER_TIME_RATIO:g}x (per level median: {per_level}){cpu}"
            f"{note}: {verdict(over == 0)}")


def pareto_frontier(points, resource_key):
    """Points no other point beats on both accuracy (higher) and resource (lower), by resource."""
    frontier = []
    measured = [p for p in points if getattr(p, resource_key) is not None]
    for point in sorted(measured, key=lambda p: (getattr(p, resource_key), -p.accuracy)):
        if not frontier or point.accuracy > frontier[-1].accuracy:
            frontier.append(point)
    return frontier


def claim_pareto(state, resource_key):
    """(c): for each point (a, r_b) of the best baseline's frontier, r_b / r_d where r_d is the
    smallest resource of a diff point with accuracy >= a. Returns (frontiers, ratios, unmatched)."""
    diff_frontier = pareto_frontier(level_points(state, PROPOSED_METHOD), resource_key)
    baseline_frontier = pareto_frontier(level_points(state, state.best_baseline), resource_key) \
        if state.best_baseline else []
    ratios, unmatched = [], []
    for point in baseline_frontier:
        candidates = [getattr(d, resource_key) for d in diff_frontier if d.accuracy >= point.accuracy]
        if candidates:
            ratios.append((getattr(point, resource_key) / min(candidates), point))
        else:
            unmatched.append(point)
    return diff_frontier, baseline_frontier, ratios, unmatched


# ---------------------------------------------------------------------------------------------
# Formatting


def format_amount(value, unit):
    if value is None:
        return "-"
    if unit in ("bytes", "B"):
        if value >= 1024 * 1024:
            return f"{value / (1024 * 1024):.2f} MiB"
        if value >= 1024:
            return f"{value / 1024:.1f} KiB"
        return f"{value:.0f} B"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "MACs":
        return f"{value / 1e6:.2f} M MACs"
    return f"{value:g}" + (f" {unit}" if unit else "")


def format_factor(value):
    return "-" if value is None else f"{value:.1f}x" if value < 100 else f"{value:.0f}x"


def format_points(accuracies):
    """Accuracy in percent: mean, and ± sample standard deviation over seeds when > 1."""
    accuracies = [a for a in accuracies if a is not None]
    if not accuracies:
        return "-"
    text = f"{100 * statistics.mean(accuracies):.2f}"
    if len(accuracies) > 1:
        text += f" ± {100 * statistics.stdev(accuracies):.2f}"
    return text


def format_mean(values, scale=1.0, digits=1):
    value = mean_or_none(values)
    return "-" if value is None else f"{value * scale:.{digits}f}"


def verdict(reproduced):
    return "**reproduced**" if reproduced else "**not reproduced**"


def level_note(level):
    return f"{level.name} (" + " ".join(str(a) for a in level.budget_args) + ")"


# ---------------------------------------------------------------------------------------------
# RESULTS.md


def claims_section(settings, states):
    lines = ["## The paper's claims, measured", "",
             f"Accuracy is float test accuracy; the unpruned resources are its `profile --board "
             f"{REFERENCE_BOARD}` totals, the pruned ones `resources.after` of each report "
             "(mean over seeds). Verdicts follow from the numbers alone.", ""]

    lines += [f"**(a) Resource reduction: up to {PAPER_REDUCTION_FACTOR:.0f}x with little accuracy loss** "
              f"(diff levels whose seed-mean accuracy is at most {ACCURACY_TOLERANCE_POINTS:g} points below "
              f"the unpruned model's, same seeds; reproduced when flash, MACs or peak SRAM reaches "
              f"{PAPER_REDUCTION_FACTOR:.0f}x).", ""]
    for state in states:
        if skip_line := model_skip_line(state):
            lines.append(skip_line)
            continue
        best, floor_factor, smallest_drop = claim_reduction(state)
        parts = [f"{label} {format_factor(best[key][0])} at {best[key][1]}" if best[key] else f"{label} -"
                 for key, label in REDUCED_RESOURCES]
        largest = max((b[0] for b in best.values() if b), default=None)
        floor = (f"flash floor {format_amount(state.flash_floor_bytes, 'bytes')}, so at most "
                 f"{format_factor(floor_factor)} flash is possible" if floor_factor
                 else f"flash floor unknown ({state.flash_floor_message})")
        if smallest_drop is None:
            lines.append(f"- {state.name}: no diff run produced a model: not measured")
            continue
        if largest is None:
            result = (f"No diff level within {ACCURACY_TOLERANCE_POINTS:g} points (closest: {smallest_drop[1]}, "
                      f"{smallest_drop[0]:.2f} points below): {verdict(False)}")
        else:
            result = f"Largest {format_factor(largest)}: {verdict(largest >= PAPER_REDUCTION_FACTOR)}"
        lines.append(f"- {state.name}: {'; '.join(parts)}; {floor}. {result}")
    lines.append("")

    lines += [f"**(b) Time: a pruning run costs at most {PAPER_TIME_RATIO:g}x the unpruned training** "
              "(wall time of each diff run / wall time of the unpruned training of the same seed, same epochs "
              "and threads; reproduced when every run's ratio is at most 1; the CPU-time ratios, less "
              "disturbed by other load on the machine, are shown beside).", ""]
    for state in states:
        lines.append(model_skip_line(state) or time_claim_line(state))
    lines.append("")

    lines += [f"**(c) At equal accuracy, up to {PAPER_PARETO_RATIO:g}x less resource than the best baseline** "
              "(Pareto frontiers of seed-mean level points; for each point of the baseline's frontier, "
              "baseline resource / the smallest diff resource reaching at least its accuracy; reproduced "
              f"when the largest ratio is at least {PAPER_PARETO_RATIO:g} and the median, counting a point "
              "no diff point reaches as 0, at least 1).", ""]
    for state in states:
        if skip_line := model_skip_line(state):
            lines.append(skip_line)
            continue
        if not state.best_baseline:
            lines.append(f"- {state.name}: no best baseline ({state.best_baseline_basis}): not measured")
            continue
        lines.append(f"- {state.name}, best baseline **{state.best_baseline}** ({state.best_baseline_basis}):")
        for resource_key, label in [("peak_sram_bytes", "peak SRAM"), ("flash_bytes", "flash")]:
            lines.append("  - " + pareto_line(state, resource_key, label))
    lines.append("")
    return lines


def goals_section(settings, states):
    """Accuracy at 4x, diff's margin over the best baseline at each level, seed noise, duration."""
    lines = ["## Accuracy at 4x, margin over the baselines, noise and duration", "",
             f"**Accuracy at 4x** (diff's seed mean at ram4 and flash4 at most {ACCURACY_AT_4X_POINTS:g} points "
             "below the unpruned model's, same seeds).", ""]
    for state in states:
        lines.append(model_skip_line(state) or accuracy_at_4x_line(state))
    lines += ["", "**Margin over the best baseline at every level** (diff's seed mean minus the best baseline's "
              "at that level, among the methods run there, over runs that met their budgets; beyond seed noise "
              "when the margin exceeds twice its standard error, sqrt(sd_diff²/n_diff + sd_base²/n_base), "
              "with sd_base taken as diff's where the baseline ran one seed).", ""]
    for state in states:
        lines.append(model_skip_line(state) or margin_line(state))
    lines += ["", f"**Seed noise** (diff's sample standard deviation over seeds at every level at most "
              f"{NOISE_SD_POINTS:g} points; the standard error of the mean, sd/sqrt(n), beside).", ""]
    for state in states:
        lines.append(model_skip_line(state) or noise_line(state))
    lines += ["", "**Duration** " + duration_line(settings, states), ""]
    return lines


def met(ok):
    return "**met**" if ok else "**not met**"


def accuracy_at_4x_line(state):
    parts, drops = [], []
    points = {point.level: point for point in level_points(state, PROPOSED_METHOD)}
    for name in ("ram4", "flash4"):
        point = points.get(name)
        if point is None:
            continue
        reference = unpruned_accuracy(state, point.seeds)
        drop = 100.0 * (reference - point.accuracy)
        drops.append(drop)
        parts.append(f"{name} {drop:.2f} points below ({100 * point.accuracy:.2f} % against "
                     f"{100 * reference:.2f} %, {len(point.seeds)} seed{'s' if len(point.seeds) > 1 else ''})")
    if not drops:
        return f"- {state.name}: no diff run at ram4 or flash4: not measured"
    return f"- {state.name}: {'; '.join(parts)}: {met(max(drops) <= ACCURACY_AT_4X_POINTS)}"


def seed_accuracies(runs):
    return [run.test_accuracy for run in runs if run.status == "ok" and run.test_accuracy is not None]


def margin_line(state):
    parts, beyond, measured = [], [], 0
    for level in state.active_levels:
        diff = seed_accuracies(state.cell(level.name, PROPOSED_METHOD))
        baselines = {m: seed_accuracies(state.cell(level.name, m))
                     for (lvl, m, _) in state.runs if lvl == level.name and m != PROPOSED_METHOD}
        baselines = {m: a for m, a in baselines.items() if a}
        if not diff or not baselines:
            continue
        best = max(baselines, key=lambda m: statistics.mean(baselines[m]))
        base = baselines[best]
        margin = 100.0 * (statistics.mean(diff) - statistics.mean(base))
        measured += 1
        if len(diff) < 2:
            parts.append(f"{level.name} {margin:+.2f} over {best} (one diff seed: noise unknown)")
            beyond.append(False)
            continue
        sd_diff = 100.0 * statistics.stdev(diff)
        sd_base = 100.0 * statistics.stdev(base) if len(base) > 1 else sd_diff
        error = (sd_diff ** 2 / len(diff) + sd_base ** 2 / len(base)) ** 0.5
        above = margin > 2 * error
        beyond.append(above)
        parts.append(f"{level.name} {margin:+.2f} over {best} (2 SE {2 * error:.2f}{'' if above else ', within noise'})")
    if not measured:
        return f"- {state.name}: no level with both diff and a baseline meeting the budgets: not measured"
    return (f"- {state.name}: {'; '.join(parts)}; above beyond noise at {sum(beyond)} of {measured} levels: "
            f"{met(all(beyond))}")


def noise_line(state):
    parts, deviations = [], []
    for level in state.active_levels:
        accuracies = [run.test_accuracy for run in trained(state.cell(level.name, PROPOSED_METHOD))]
        if len(accuracies) < 2:
            continue
        deviation = 100.0 * statistics.stdev(accuracies)
        deviations.append(deviation)
        parts.append(f"{level.name} {deviation:.2f} (SE {deviation / len(accuracies) ** 0.5:.2f}, n {len(accuracies)})")
    unpruned = [run.test_accuracy for run in trained(state.unpruned.values())]
    if not deviations:
        return f"- {state.name}: no level with two diff seeds: not measured"
    reference = f"; unpruned {100.0 * statistics.stdev(unpruned):.2f}" if len(unpruned) > 1 else ""
    return (f"- {state.name}: sd in points {'; '.join(parts)}{reference}; largest {max(deviations):.2f}: "
            f"{met(max(deviations) <= NOISE_SD_POINTS)}")


def quantize_seconds(run):
    """The int8 check's time, from the files it leaves: the newest quantize report's modification
    time minus the run report's (the driver writes them one after the other); None if unknown."""
    report = run.directory / "report.json"
    reports = [p for p in (run.directory / "quant_report.json", run.directory / "qat" / "quant_report.json")
               if p.exists()]
    if not report.exists() or not reports:
        return None
    seconds = max(p.stat().st_mtime for p in reports) - report.stat().st_mtime
    return seconds if 0 <= seconds < 3600 else None


def mode_seconds(states):
    """The mode's compute time over every sitting: each run's wall time (all its attempts) plus
    its int8 check; and how many runs' int8 checks have no known time."""
    total, unknown = 0.0, 0
    for run in all_runs(states):
        if not run.has_model:
            continue
        total += run.wall_s or 0
        quantize_s = quantize_seconds(run)
        if quantize_s is None:
            unknown += 1
        else:
            total += quantize_s
    return total, unknown


def duration_line(settings, states):
    """The folder's elapsed time over every sitting of the driver (WORK/driver-sittings.json),
    which counts runs that ran side by side once; for a folder from before that log, every
    run's wall time plus its int8 check, as before."""
    total, unknown = mode_seconds(states)
    target = MODE_TARGET_MINUTES.get(settings.mode)
    log = read_json(sittings_path(settings))
    if isinstance(log, dict) and log.get("complete") and log.get("sittings"):
        sittings = [entry for entry in log["sittings"] if entry.get("ended") != "running"]
        elapsed = sum(entry["elapsed_s"] for entry in sittings)
        jobs = sorted({entry.get("jobs", 1) for entry in sittings})
        text = (f"(the driver's elapsed time over its {len(sittings)} sitting{'s' if len(sittings) > 1 else ''} on this "
                f"work folder, {' or '.join(map(str, jobs))} run{'s' if jobs != [1] else ''} at a time; the runs' own wall "
                f"times plus their int8 checks add up to {total / 60:.1f} min): {elapsed / 60:.1f} min on {core_count()} cores")
        total = elapsed
    else:
        missing = f" ({unknown} runs' int8 checks have no known time and are not counted)" if unknown else ""
        why = (log.get("incomplete_reason") if isinstance(log, dict) else None) or \
            "this work folder predates the driver's log of its sittings"
        text = (f"(every run's wall time, over all its sittings, plus its int8 check{missing}; {why}): "
                f"{total / 60:.1f} min on {core_count()} cores")
    if target is None:
        return text + "; this mode has no time target."
    return text + f", against a target of {target} min for {settings.mode} mode: {met(total / 60 <= target)}"


def pareto_line(state, resource_key, label):
    diff_frontier, baseline_frontier, ratios, unmatched = claim_pareto(state, resource_key)
    if not baseline_frontier or not diff_frontier:
        return f"{label}: no {'baseline' if not baseline_frontier else 'diff'} points: not measured"
    text = f"{label}: frontiers of {len(diff_frontier)} diff and {len(baseline_frontier)} {state.best_baseline} points; "
    if ratios:
        values = [r for r, _ in ratios]
        largest_point = max(ratios, key=lambda rp: rp[0])[1]
        text += (f"ratio max {max(values):.2f}x (at {state.best_baseline}'s {largest_point.level} point, "
                 f"{100 * largest_point.accuracy:.2f} %), median {statistics.median(values):.2f}x")
    else:
        text += "no ratio"
    if unmatched:
        text += "; no diff point reaches " + ", ".join(
            f"{100 * p.accuracy:.2f} % ({state.best_baseline} at {p.level})" for p in unmatched)
    all_ratios = [r for r, _ in ratios] + [0.0] * len(unmatched)
    reproduced = bool(ratios) and max(r for r, _ in ratios) >= PAPER_PARETO_RATIO \
        and statistics.median(all_ratios) >= 1.0
    return text + f": {verdict(reproduced)}"


def model_skip_line(state):
    return f"- {state.name}: not measured: {state.failed_reason}" if state.failed_reason else None


TABLE_HEADER = ["level", "method", "seeds", "float acc %", "int8 acc %", "int8 - float (points)",
                "flash KiB", "RAM KiB", "peak SRAM KiB", "MMACs", "latency ms", "wall s",
                "budgets met", "fallbacks"]


def table_row(level_name, method, runs):
    """One row of the per-model table: seed means of the runs that produced a model."""
    done = trained(runs)
    failed = [run for run in runs if run.status == "failed"]
    seeds = f"{len(done)}" + (f" (+{len(failed)} failed)" if failed else "")
    if not done:
        return [level_name, method, seeds, "failed (see below)"] + [""] * (len(TABLE_HEADER) - 4)
    budgets = "-" if method == "unpruned" else (
        "yes" if all(r.status == "ok" for r in done) else
        "no" if len(done) == 1 else f"{sum(r.status == 'ok' for r in done)}/{len(done)}")
    return [level_name, method, seeds,
            format_points(r.test_accuracy for r in done),
            format_points(r.int8_accuracy for r in done),
            format_mean([r.int8_minus_float_points for r in done], digits=2),
            format_mean([r.resource("flash_bytes") for r in done], 1 / 1024),
            format_mean([r.resource("ram_bytes") for r in done], 1 / 1024),
            format_mean([r.resource("peak_sram_bytes") for r in done], 1 / 1024),
            format_mean([r.resource("macs") for r in done], 1e-6, 2),
            format_mean([r.resource("latency_ms") for r in done], digits=2),
            format_mean([r.wall_s for r in done], digits=0),
            budgets, format_fallbacks(done, method)]


def format_fallbacks(runs, method):
    if method == "unpruned":
        return "-"
    if any(run.fallbacks is None for run in runs):
        return "not reported"
    records = [f for run in runs for f in run.fallbacks]
    if not records:
        return "0"
    kinds = sorted({str(f.get("kind", "?")) for f in records})
    return f"{len(records)} ({', '.join(kinds)})"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def model_section(settings, state, plots):
    lines = [f"### {state.name}", ""]
    if state.failed_reason:
        return lines + [f"Not measured: {state.failed_reason}.", ""]
    totals = state.unpruned_totals()
    lines.append(f"`{' '.join(state.spec.cli_args())}`; unpruned on {REFERENCE_BOARD}: flash "
                 f"{format_amount(totals.get('flash_bytes'), 'bytes')}, RAM {format_amount(totals.get('ram_bytes'), 'bytes')}, "
                 f"peak SRAM {format_amount(totals.get('peak_sram_bytes'), 'bytes')}, "
                 f"{format_amount(totals.get('macs'), 'MACs')}. Best baseline: "
                 f"{state.best_baseline or 'none'} ({state.best_baseline_basis}).")
    lines.append("")
    lines.append("Levels: " + "; ".join(level_note(level) + (f": skipped, {level.skipped_reason}"
                                                             if level.skipped_reason else "")
                                        for level in state.levels) + ".")
    lines.append("")
    rows = [table_row("-", "unpruned", [state.unpruned[s] for s in sorted(state.unpruned)])]
    for level in state.active_levels:
        for method in settings.methods:
            runs = state.cell(level.name, method)
            if runs:
                rows.append(table_row(level.name, method, runs))
    lines += markdown_table(TABLE_HEADER, rows)
    lines.append("")
    notes = run_notes(state)
    if notes:
        lines += ["Runs that failed, missed a budget or need a note:", ""] + notes + [""]
    for title, name in plots.get(state.name, []):
        if title == "page":
            lines.append(f"Test accuracy against peak SRAM and against flash, every method with its Pareto front: "
                         f"[{name}]({name}) (a self-contained page; open it in a browser).")
        else:
            lines.append(f"![{state.name}: {title}]({name})")
    if plots.get(state.name):
        lines.append("")
    if plots and "tight" in settings.levels and not any("tight" in title for title, _ in plots.get(state.name, [])):
        lines += [f"No per-layer widths plot: no {PROPOSED_METHOD} or best-baseline run at the tight level "
                  "produced a model.", ""]
    return lines


def run_notes(state):
    """One line per distinct problem, naming the runs that had it."""
    runs_by_note = {}
    for run in all_runs([state]):
        notes = []
        if run.status != "ok":
            notes.append(run.status + (f": {run.reason}" if run.reason else ""))
        elif run.reason:
            notes.append(run.reason)
        if run.quant_reason:
            notes.append(f"quantize failed: {run.quant_reason}")
        for note in notes:
            runs_by_note.setdefault(note, []).append(run)
    lines = []
    for note, runs in runs_by_note.items():
        names = ", ".join(f"{run.level} {run.method} s{run.seed}" if run.method != "unpruned"
                          else f"unpruned s{run.seed}" for run in runs)
        lines.append(f"- {names}: {note}")
    return lines


def all_runs(states):
    for state in states:
        for seed in sorted(state.unpruned):
            yield state.unpruned[seed]
        for key in sorted(state.runs, key=lambda k: (level_order(state, k[0]), method_order(k[1]), k[2])):
            yield state.runs[key]


def level_order(state, name):
    return [level.name for level in state.levels].index(name)


def method_order(method):
    return ALL_METHODS.index(method) if method in ALL_METHODS else len(ALL_METHODS)


def int8_section(states):
    low = [run for run in all_runs(states)
           if run.int8_minus_float_points is not None and run.int8_minus_float_points < -INT8_WARNING_POINTS]
    text = ", ".join(f"{run.label} ({run.int8_minus_float_points:+.2f})" for run in low) or "none"
    lines = [f"Runs with int8 more than {INT8_WARNING_POINTS:g} point below float (int8 - float, points): {text}.", ""]
    with_qat = [run for run in low if run.qat]
    if with_qat:
        lines += [f"Each of them was fine-tuned for {QAT_EPOCHS} epoch(s) with quantisation-aware training "
                  "(`mcuprune quantize --qat-epochs`, on the run's own training samples, Adam at lr 1e-4) and "
                  "quantised again:", "",
                  "| run | float % | int8 % (post-training) | int8 % after QAT | QAT gain (points) | "
                  "int8 after QAT - float (points) |",
                  "|---|---|---|---|---|---|"]
        # The gain is read off this table's own columns (both on the same test samples): the
        # QAT command's report measures its own post-training baseline, calibrated on the
        # training samples it was given, which can differ from the run's quantize.
        gains = []
        for run in with_qat:
            float_acc = lookup(run.quant, "accuracy.float")
            gain = 100 * (run.qat["int8"] - run.int8_accuracy)
            gains.append(gain)
            lines.append(f"| {run.label} | {100 * float_acc:.1f} | {100 * run.int8_accuracy:.1f} | "
                         f"{100 * run.qat['int8']:.1f} | {gain:+.2f} | "
                         f"{run.qat['int8_minus_original_float_points']:+.2f} |")
        lines += ["", f"Mean QAT gain: {sum(gains) / len(gains):+.2f} points over {len(gains)} run(s).", ""]
    return lines


def settings_section(settings, states, duration_s, plot_note):
    splits = {}  # model -> "N train / M validation", from its first run with a report
    for run in all_runs(states):
        if run.has_model and run.model not in splits:
            split = run.report.get("dataset") or {}
            splits[run.model] = f"{split.get('train_samples', '?')} train / {split.get('val_samples', '?')} validation"
    test_samples = next(((run.report.get("dataset") or {}).get("test_samples") for run in all_runs(states)
                         if run.has_model), None) or "?"
    versions = sorted({run.report.get("mcuprune_version") for run in all_runs(states) if run.has_model} - {None})
    runs = list(all_runs(states))
    total_run_s = sum(run.wall_s or 0 for run in runs if run.has_model)
    reused = sum(run.reused for run in runs)
    training = f"first {settings.limit_train}" if settings.limit_train else "all"
    training += "".join(f" ({model}: " + (f"first {n}" if n else "all") + ")" for model, n in settings.limit_train_by_model.items())
    test = f"first {settings.limit_test}" if settings.limit_test else "all"
    split_text = (next(iter(splits.values())) if len(set(splits.values())) == 1
                  else "; ".join(f"{model}: {text}" for model, text in splits.items())) or "?"
    limits = f"training data: {training} samples ({split_text}); test data: {test} samples ({test_samples})"
    lines = ["## Settings", "",
             f"- mode: {settings.mode}; data: {settings.data}; {limits}",
             f"- epochs: {settings.epochs} for every run; seeds: 1 for every method"
             + (f", 2..{settings.seeds} also for diff and the unpruned training" if settings.seeds > 1 else "")
             + (f", 2..{settings.baseline_seeds} for each model's best baseline" if settings.baseline_seeds > 1 else ""),
             "- learning rate (Adam): " + (", ".join(f"{model} {value}" for model, value in settings.lr.items())
                                           + ({"quick": " (quick mode's, bench/results/quick_lr.md)",
                                               "standard": " (standard mode's, bench/results/standard_lr.md)"}
                                              .get(settings.mode, "") if not settings.lr_given else "")
                                           if settings.lr else "the trainer's default (0.001)")
             + ("; the trainer's default (0.001) for " + ", ".join(m.name for m in settings.models if m.name not in settings.lr)
                if settings.lr and any(m.name not in settings.lr for m in settings.models) else ""),
             f"- methods: {', '.join(settings.methods)}; levels: {', '.join(settings.levels)}; "
             f"int8: {settings.calibration_samples} calibration samples, compared with float on the first "
             f"{settings.int8_test or settings.limit_test or 'all'} test samples",
             f"- runs at a time: {settings.jobs}; threads per run: "
             f"{settings.threads if settings.threads is not None else 'mcuprune default (all cores)'}; "
             f"cores (nproc): {core_count()}",
             f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}; mcuprune {', '.join(versions) or '?'}"
             f"{git_description(settings.results)}",
             f"- duration: {duration_s / 60:.1f} min for this invocation of the driver, which ran "
             f"{len(runs) - reused} of the {len(runs)} training runs and reused {reused} from an earlier one; "
             f"the runs' own wall times add up to {total_run_s / 60:.1f} min",
             f"- work directory: {display_path(settings.work)}; CSV: {display_path(csv_path(settings))}",
             f"- plots: {plot_note}", "",
             "Reproduce:", "", f"    {settings.command_line}", ""]
    return lines


def core_count():
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(len(os.sched_getaffinity(0)))


def git_description(results):
    """The commit, and whether tracked files differ from it, leaving out the results directory:
    the driver writes its CSV and pages there before this is asked."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        status = ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no", "--", "."]
        try:
            status.append(":(exclude)" + str(Path(results).resolve().relative_to(REPO_ROOT.resolve())))
        except ValueError:
            pass  # results outside the repository: nothing of it to leave out
        dirty = subprocess.run(status, capture_output=True, text=True, check=True).stdout.strip()
        return f" (git {commit}{', with uncommitted changes' if dirty else ''})"
    except (OSError, subprocess.CalledProcessError):
        return ""


def display_path(path):
    try:
        return str(Path(path).relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def results_path(settings):
    return settings.results / ("RESULTS.md" if settings.mode == "quick" else f"RESULTS-{settings.mode}.md")


def csv_path(settings):
    return settings.results / ("methods.csv" if settings.mode == "quick" else f"methods-{settings.mode}.csv")


def plots_dir(settings):
    return settings.results / "plots" / settings.mode


def write_results_md(settings, states, duration_s, plots, plot_note):
    lines = [f"# Pruning methods compared ({settings.mode} mode)", "",
             f"Written by `bench/methods.py` ([docs/benchmark.md](../../docs/benchmark.md)). "
             f"{settings.epochs} epochs, data {settings.data}; settings and the command at the end.", ""]
    lines += claims_section(settings, states)
    lines += goals_section(settings, states)
    lines += ["## Results per model", "",
              "Accuracy: mean ± sample standard deviation over the seeds (the seeds column counts them). "
              "float: `accuracy.test` of the run's report; int8, and int8 - float: from `mcuprune quantize` "
              f"(both interpreters on the same first {settings.int8_test or settings.limit_test or 'all'} test "
              "samples). Resources: the model after pruning (`resources.after`, the level's board or "
              f"{REFERENCE_BOARD}); RAM is peak SRAM plus runtime data. Wall: the run's own wall time.", ""]
    for state in states:
        lines += model_section(settings, state, plots)
    lines += int8_section(states)
    lines += settings_section(settings, states, duration_s, plot_note)
    path = results_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


# ---------------------------------------------------------------------------------------------
# CSV


CSV_FIELDS = ["model", "level", "method", "seed", "status", "reason", "reused", "resumed", "budget_args",
              "accuracy_test", "accuracy_float_quantize", "accuracy_int8", "int8_minus_float_points",
              "accuracy_int8_qat", "ram_bytes", "peak_sram_bytes", "flash_bytes", "macs", "latency_ms", "params",
              "wall_time_s", "train_time_s", "budgets_met", "fallback_count", "fallback_kinds",
              "fallback_details", "report_method", "run_dir"]


def rounded(value, digits):
    return None if value is None else round(value, digits)


def csv_row(run):
    fallbacks = run.fallbacks if run.fallbacks is not None else []
    report = run.report or {}
    return {"model": run.model, "level": run.level, "method": run.method, "seed": run.seed,
            "status": run.status, "reason": "; ".join(r for r in [run.reason, run.quant_reason and
                                                                  f"quantize: {run.quant_reason}"] if r),
            "reused": int(run.reused), "resumed": int(run.resumed),
            "budget_args": " ".join(str(a) for a in run.budget_args),
            "accuracy_test": rounded(run.test_accuracy, 6),
            "accuracy_float_quantize": rounded(lookup(run.quant or {}, "accuracy.float"), 6),
            "accuracy_int8": rounded(run.int8_accuracy, 6),
            "int8_minus_float_points": rounded(run.int8_minus_float_points, 3),
            "accuracy_int8_qat": rounded(run.qat["int8"], 6) if run.qat else None,
            **{key: run.resource(key) for key in ["ram_bytes", "peak_sram_bytes", "flash_bytes", "macs",
                                                  "latency_ms", "params"]},
            "wall_time_s": rounded(run.wall_s, 2), "train_time_s": rounded(report.get("train_time_s"), 2),
            "budgets_met": report.get("budgets_met") if run.method != "unpruned" else None,
            "fallback_count": len(fallbacks) if run.fallbacks is not None else None,
            "fallback_kinds": " ".join(str(f.get("kind", "")) for f in fallbacks),
            "fallback_details": " | ".join(str(f.get("detail", "")) for f in fallbacks),
            "report_method": report.get("method"), "run_dir": display_path(run.directory)}


def write_csv(settings, states):
    path = csv_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for run in all_runs(states):
            writer.writerow({k: "" if v is None else v for k, v in csv_row(run).items()})
    return path


# ---------------------------------------------------------------------------------------------
# Plots (gnuplot)


def gnuplot_terminal():
    """pngcairo when this gnuplot has it, else the libgd png terminal; None without gnuplot."""
    if shutil.which("gnuplot") is None:
        return None
    probe = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"], capture_output=True, text=True)
    return "pngcairo" if probe.returncode == 0 and not probe.stderr.strip() else "png"


def gnuplot_string(text):
    return "'" + text.replace("'", "''") + "'"


def write_widths_data(directory, state, level="tight"):
    """Prunable groups at the tight level (seed 1): before, diff after, best baseline after."""
    methods = [m for m in [PROPOSED_METHOD, state.best_baseline] if m]
    runs = {m: state.runs.get((level, m, 1)) for m in methods}
    runs = {m: r for m, r in runs.items() if r is not None and r.has_model and r.report.get("groups")}
    if not runs:
        return None, []
    reference = next(iter(runs.values())).report["groups"]
    after = {m: {g["id"]: g["channels_after"] for g in r.report["groups"]} for m, r in runs.items()}
    rows = ["# group before " + " ".join(f"{m}_after" for m in runs)]
    for group in reference:
        if not group.get("prunable"):
            continue
        label = (group.get("producers") or [f"group{group['id']}"])[0]
        values = [str(after[m].get(group["id"], "NaN")) for m in runs]
        rows.append(f"\"{label}\" {group['channels_before']} " + " ".join(values))
    name = f"{state.name}-widths-{level}.dat"
    (directory / name).write_text("\n".join(rows) + "\n")
    return name, list(runs)


def widths_plot_script(state, name, methods, png, level="tight"):
    series = [f"{gnuplot_string(name)} using 2:xtic(1) title 'before'"]
    series += [f"'' using {3 + k} title {gnuplot_string(method + ' after')}" for k, method in enumerate(methods)]
    return [f"set output {gnuplot_string(png)}",
            f"set title {gnuplot_string(f'{state.name}: channels per prunable group at the {level} level (seed 1)')}",
            "set style data histograms", "set style histogram clustered gap 1",
            "set style fill solid 0.85 border -1", "set xtics rotate by -60 scale 0 font ',8'",
            "set xlabel 'prunable channel group (its first producer)'",
            "set ylabel 'channels (log scale)'", "set logscale y 2", "set yrange [0.8:*]",
            "set key outside right top", "set grid ytics",
            "plot " + ", \\\n     ".join(series), ""]


def write_plots(settings, states):
    """Writes the data files and methods.gp into plots/MODE/ and runs gnuplot there, once per
    plot so that one failing plot does not stop the others.
    Returns ({model: [(title, png path relative to the results)]}, a sentence on what happened)."""
    directory = plots_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    # The folder is this driver's output: data and images of an earlier run (other models,
    # methods or levels) would otherwise sit beside this run's as if they were its own.
    for stale in sorted(directory.glob("*.dat")) + sorted(directory.glob("*.png")):
        stale.unlink()
    terminal = gnuplot_terminal()
    header = [f"set terminal {terminal or 'pngcairo'} size 1000,620 noenhanced", "set encoding utf8"]
    plots = []   # (model, title, png, gnuplot commands)
    # Accuracy against peak SRAM and flash are the HTML pages of write_pages (mcuprune report
    # --bench): interactive, with each method's Pareto front.
    for state in states:
        if state.failed_reason:
            continue
        name, methods = write_widths_data(directory, state)
        if name:
            png = f"{state.name}-widths-tight.png"
            plots.append((state.name, "channels per group at the tight level", png,
                          widths_plot_script(state, name, methods, png)))
    script = ["# Generated by bench/methods.py; to redraw, run in this folder: gnuplot methods.gp"] + header
    for _, _, _, commands in plots:
        script += ["", "reset"] + commands
    (directory / "methods.gp").write_text("\n".join(script) + "\n")
    relative = display_relative(directory, settings.results)
    if terminal is None:
        return {}, (f"not made: gnuplot is not installed (apt-get install gnuplot-nox); the data and "
                    f"{relative}/methods.gp are written")
    made, errors = {}, []
    for model, title, png, commands in plots:
        (directory / png).unlink(missing_ok=True)
        result = subprocess.run(["gnuplot"], input="\n".join(header + commands) + "\n", cwd=directory,
                                capture_output=True, text=True)
        if result.returncode == 0 and (directory / png).exists():
            made.setdefault(model, []).append((title, f"{relative}/{png}"))
        else:
            error = [line.strip() for line in result.stderr.splitlines() if line.strip()]
            errors.append(f"{png}: {error[-1] if error else 'exit ' + str(result.returncode)}")
    count = sum(len(pngs) for pngs in made.values())
    note = f"{count} PNGs in {display_path(directory)} (gnuplot, {terminal} terminal)"
    if errors:
        note += "; gnuplot failed for " + "; ".join(errors)
    return made, note


def pages_dir(settings):
    return settings.results / "pages" / settings.mode


def write_pages(settings):
    """One HTML page per model from the CSV (`mcuprune report --bench`): test accuracy against
    peak SRAM and against flash for every run, each method's Pareto front.
    Returns ({model: page path relative to the results}, a sentence on what happened)."""
    directory = pages_dir(settings)
    result = subprocess.run([str(settings.mcuprune), "report", "--bench", str(csv_path(settings)), "--out",
                             str(directory)], capture_output=True, text=True)
    if result.returncode != 0:
        return {}, f"not made: mcuprune report --bench failed: {result.stderr.strip()}"
    relative = display_relative(directory, settings.results)
    pages = {p.stem: f"{relative}/{p.name}" for p in sorted(directory.glob("*.html"))}
    return pages, f"{len(pages)} HTML pages in {display_path(directory)} (mcuprune report --bench)"


def display_relative(path, base):
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------


def raise_keyboard_interrupt(signum, frame):
    """SIGTERM is handled like Ctrl-C: the running mcuprune checkpoints before the driver exits."""
    raise KeyboardInterrupt()


def main(argv):
    settings = parse_settings(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    started = time.monotonic()
    logged = False
    try:
        check_mcuprune(settings)
        check_work_directory(settings)
        begin_sitting(settings)
        logged = True
        print(f"bench/methods.py ({settings.mode}): runs in {display_path(settings.work)}, {settings.jobs} at a time",
              flush=True)
        states = run_benchmark(settings)
    except Interrupted:
        record_sitting(settings, time.monotonic() - started, "interrupted")
        print("interrupted: run the same command again to continue (finished runs are reused, "
              "the interrupted ones resume from their checkpoints)", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        if logged:
            record_sitting(settings, time.monotonic() - started, "interrupted")
        print("\ninterrupted: run the same command again to continue", file=sys.stderr)
        return 130
    except Paused:
        record_sitting(settings, time.monotonic() - started, "paused")
        print(f"paused between two runs ({display_path(settings.work / 'PAUSE')} was there; the runs already "
              "running finished): run the same command again to continue", file=sys.stderr)
        return 3
    except BenchmarkError as error:
        if logged:
            record_sitting(settings, time.monotonic() - started, "error")
        print(f"bench/methods.py: error: {error}", file=sys.stderr)
        return 1
    duration_s = time.monotonic() - started
    record_sitting(settings, duration_s, "finished")
    write_csv(settings, states)
    plots, plot_note = write_plots(settings, states)
    pages, page_note = write_pages(settings)
    for model, page in pages.items():
        plots.setdefault(model, []).insert(0, ("page", page))
    plot_note = f"{page_note}; {plot_note}"
    path = write_results_md(settings, states, duration_s, plots, plot_note)
    print(f"wrote {display_path(path)}, {display_path(csv_path(settings))}; plots: {plot_note}")
    print(f"total {duration_s / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
