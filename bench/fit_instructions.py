#!/usr/bin/env python3
"""Fits the instruction model of mcuprune's C runtime (--runtime mcuprune; RuntimeProfile's
InstructionModel in src/resources/board.cpp) to measured instruction counts, and checks it.

Data: every operator of the `deploy --emulate` runs of `bench/deploy.py` (bench/work/deploy,
DSP and portable paths, layer by layer and in patches), joined by name with the figures that
`mcuprune profile --json` gives the same op (MACs, outputs, im2col columns, pixels, element
ops, invocations); and the layers of `bench/kernels.sh` (bench/work/kernels) for the conv and
dense kernels' scratch-free paths, which the zoo runs (with room for scratch) do not take.

Per operator kind and kernel path, instructions = a . figures + fixed * invocations, fitted by
least squares on relative error (every op weighs the same, large or small); a coefficient that
comes out negative is dropped and the rest refitted. Prints the coefficients as C++ for
board.cpp, and the whole-model check: predicted against measured instructions per inference.

Usage: /usr/bin/python3 bench/fit_instructions.py [--build build] [--check-only] [--compare]
Python 3 standard library only.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

BOARD = "nucleo-f767zi"  # bench/deploy.py's board
FIELDS = ["per_mac", "per_output", "per_column", "per_pixel", "per_element", "fixed", "per_edge_output", "per_channel"]
# Which figures each class is fitted on (the rest stay 0).
CLASS_FIELDS = {
    "conv": ["per_mac", "per_output", "per_column", "per_pixel", "per_edge_output", "per_channel", "fixed"],
    "conv_plain": ["per_mac", "per_output", "per_column", "per_pixel", "per_edge_output", "per_channel", "fixed"],
    "depthwise": ["per_mac", "per_output", "per_pixel", "per_edge_output", "per_channel", "fixed"],
    "dense": ["per_mac", "per_output", "per_column", "fixed"],
    "dense_plain": ["per_mac", "per_output", "per_column", "fixed"],
    "pool": ["per_element", "per_output", "per_pixel", "fixed"],
    "mean": ["per_element", "per_output", "fixed"],
    "add": ["per_element", "fixed"],
    "copy": ["per_element", "fixed"],
    "clamp": ["per_element", "fixed"],
    "softmax": ["per_element", "fixed"],
    "front_end": ["per_element", "fixed"],
}


def op_class(kind, scratch_kernel):
    return {"CONV_2D": "conv" if scratch_kernel else "conv_plain", "DEPTHWISE_CONV_2D": "depthwise",
            "FULLY_CONNECTED": "dense" if scratch_kernel else "dense_plain", "MAX_POOL_2D": "pool",
            "AVERAGE_POOL_2D": "pool", "MEAN": "mean", "ADD": "add", "RESHAPE": "copy", "CONCATENATION": "copy",
            "PAD": "copy", "SOFTMAX": "softmax", "MFCC": "front_end"}.get(kind, "clamp")


def solve(a, b):
    """Least squares: the normal equations by Gaussian elimination with partial pivoting."""
    n = len(a[0])
    m = [[sum(r[i] * r[j] for r in a) for j in range(n)] + [sum(r[i] * y for r, y in zip(a, b))] for i in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-30:
            return None
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit(rows, fields):
    """rows: (figures dict, measured, scale): least squares of (predicted - measured) / scale,
    negative coefficients dropped."""
    active = list(fields)
    while active:
        a = [[f[k] / s for k in active] for f, y, s in rows]
        x = solve(a, [y / s for f, y, s in rows])
        if x is None:  # collinear figures (or one zero on every row): drop the last and refit
            active.pop()
            continue
        if min(x) >= 0:
            return dict(zip(active, x))
        active.pop(min(range(len(x)), key=lambda i: x[i]))
    return {}


def figures_of(row):
    f = row["model_figures"]
    return {"per_mac": f["kernel_macs"], "per_output": f["outputs"], "per_column": f["columns"], "per_pixel": f["pixels"],
            "per_element": row["element_ops"], "fixed": f["calls"], "per_edge_output": f["edge_outputs"],
            "per_channel": f["channels"]}


def deploy_rows(build, work):
    """(path, class, figures, measured, model run) for every op of every deploy run."""
    out = []
    profiles = {}
    for rep in sorted(glob.glob(os.path.join(work, "*-*-*-*", "deploy_report.json"))):
        run = os.path.basename(os.path.dirname(rep))
        model, variant, patch, path = run.rsplit("-", 3)
        d = os.path.join(work, model if variant == "unpruned" else model + "-" + variant)
        key = (d, patch)
        if key not in profiles:
            r = subprocess.run([os.path.join(build, "mcuprune"), "profile", "--model", d, "--runtime", "mcuprune",
                                "--board", BOARD, "--patch", patch, "--json"], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"profile failed for {d}: {r.stderr}")
            profiles[key] = {o["name"]: o for o in json.loads(r.stdout)["operators"]}
        rows = profiles[key]
        meas = json.load(open(rep))["measured"]
        for op in meas["operators"]:
            row = rows.get(op["name"])
            if row is None:
                continue
            out.append((path, op_class(row["op"], row["model_figures"]["scratch_kernel"]), figures_of(row),
                        op["instructions"], run))
    return out


def kernel_rows(work):
    """The scratch-free conv and dense paths from bench/kernels.sh's layers (no dispatch: the
    fixed cost is refitted from the deploy runs)."""
    out = []
    for path in ["dsp", "portable"]:
        log = os.path.join(work, path, "log.txt")
        if not os.path.exists(log):
            continue
        for line in open(log):
            f = line.split()
            if not f or f[0] != "CASE" or len(f) < 11:
                continue
            kind, macs, t_plain = f[2], int(f[3]), int(f[6]) * 40
            outputs, columns, pixels, edges = int(f[7]), int(f[8]), int(f[9]), int(f[10])
            channels = outputs // max(pixels, 1)
            if t_plain < 2000 or kind not in ("conv", "conv1x1", "dense"):
                continue  # too few ticks to weigh
            cls = "conv_plain" if kind != "dense" else "dense_plain"
            # the figures as profile gives them: the scratch-free kernels run four channels
            # (rows) at a time, the last group overlapping
            if kind == "dense":
                channels = outputs
            ch4 = (channels + 3) // 4 * 4
            figs = {"per_mac": macs // channels * ch4, "per_output": outputs // channels * ch4, "per_column": columns,
                    "per_pixel": pixels, "per_element": 0, "fixed": 1, "per_edge_output": edges // max(channels, 1) * ch4,
                    "per_channel": channels}
            out.append((path, cls, figs, float(t_plain), "kernel case " + f[1]))
    return out


WEIGHTINGS = {"relative": lambda y, t: y, "sqrt": lambda y, t: (y * t) ** 0.5, "total": lambda y, t: t}


def fit_path(rows, path, weighting, totals):
    model = {}
    for cls, fields in CLASS_FIELDS.items():
        data = [(f, y, WEIGHTINGS[weighting](y, totals[run])) for p, c, f, y, run in rows
                if p == path and c == cls and y > 0]
        model[cls] = fit(data, fields) if data else {}
    return model


def compare_weightings(deploy, train, totals):
    """The three weightings of the fit on the DSP path: worst error of the runs' summed op
    predictions (fitted runs, held-out runs) and the per-op error."""
    lines = ["## Weighting of the fit (DSP path; --compare)", "",
             "Each weighting fitted without the held-out runs; errors of the summed per-op predictions per run, "
             "and of single ops of more than 10,000 instructions.", "",
             "| weighting | worst run, fitted | worst run, held out | op error median / 90th percentile |",
             "|---|---|---|---|"]
    for name in WEIGHTINGS:
        model = fit_path(train, "dsp", name, totals)
        pred, meas, ops = {}, {}, []
        for p, c, f, y, run in deploy:
            if p != "dsp":
                continue
            v = sum(model[c].get(k, 0) * f[k] for k in FIELDS)
            pred[run] = pred.get(run, 0.0) + v
            meas[run] = meas.get(run, 0.0) + y
            if y > 10000:
                ops.append(abs(v - y) / y * 100)
        errs = {run: 100 * (pred[run] - meas[run]) / meas[run] for run in meas}
        fitted = max(abs(e) for r, e in errs.items() if "-heldout-" not in r)
        held = max((abs(e) for r, e in errs.items() if "-heldout-" in r), default=0.0)
        ops.sort()
        lines.append(f"| {name} | {fitted:.1f}% | {held:.1f}% | {ops[len(ops) // 2]:.1f}% / "
                     f"{ops[int(len(ops) * 0.9)]:.1f}% ({len(ops)} ops) |")
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--deploy-work", default="bench/work/deploy")
    ap.add_argument("--kernel-work", default="bench/work/kernels")
    ap.add_argument("--results", default="bench/results/instruction_model.md")
    ap.add_argument("--check-only", action="store_true", help="only compare the built model's predictions")
    ap.add_argument("--compare", action="store_true", help="also compare the fit's weightings on held-out runs")
    a = ap.parse_args()
    deploy = deploy_rows(a.build, a.deploy_work)
    if not deploy:
        sys.exit("no deploy runs found: run bench/deploy.py first")
    lines = []
    if not a.check_only:
        # the held-out runs (bench/deploy.py's variant heldout) stay out of the fit: the check
        # below shows the model on channel counts it has not seen
        rows = [r for r in deploy if "-heldout-" not in r[4]] + kernel_rows(a.kernel_work)
        cpp = []
        # Each op's error is weighed by sqrt(its instructions x its run's): between a relative
        # fit (every op alike, small ones included) and one on the runs' totals (the big ops
        # only); --compare measures the three.
        totals = {}
        for p, c, f, y, run in deploy + kernel_rows(a.kernel_work):
            totals[run] = totals.get(run, 0.0) + y
        if a.compare:
            lines += compare_weightings(deploy, rows, totals)
        for path in ["dsp", "portable"]:
            model = fit_path(rows, path, "sqrt", totals)
            # the scratch-free kernels' fixed cost: the scratch kernels' (dispatch is the same)
            for plain, fast in [("conv_plain", "conv"), ("dense_plain", "dense")]:
                if model[fast].get("fixed") is not None:
                    model[plain]["fixed"] = model[plain].get("fixed", 0) + model[fast]["fixed"]
            for cls in CLASS_FIELDS:
                k = model[cls]
                n = len([1 for p, c, *_ in rows if p == path and c == cls])
                cpp.append(f"    m.{'instructions_' + path}.{cls} = {{{', '.join(f'{k.get(x, 0):.6g}' for x in FIELDS)}}};"
                           f"  // {n} ops")
        print("\n".join(cpp))
        lines += ["## Coefficients (C++ for src/resources/board.cpp)", "", "```", *cpp, "```", ""]
    # The check: the built model's predictions against the measurements, per run.
    lines += ["## Check: predicted against measured instructions per inference", "",
              "| run | in the fit | measured | predicted | error |", "|---|---|---|---|---|"]
    worst, worst_held = 0.0, 0.0
    for rep in sorted(glob.glob(os.path.join(a.deploy_work, "*-*-*-dsp", "deploy_report.json"))):
        r = json.load(open(rep))
        meas = r["measured"]["instructions_per_inference"]
        pred = r["predicted"].get("profile_instructions", 0)
        err = 100.0 * (pred - meas) / meas if meas else 0.0
        run = os.path.basename(os.path.dirname(rep))
        held = "-heldout-" in run
        if held:
            worst_held = max(worst_held, abs(err))
        else:
            worst = max(worst, abs(err))
        lines.append(f"| {run} | {'no (held out)' if held else 'yes'} | {meas:.0f} | {pred:.0f} | {err:+.1f}% |")
    lines += ["", f"Worst error: {worst:.1f}% on the runs of the fit, {worst_held:.1f}% on the held-out runs "
              "(goal: within 10%)."]
    head = ("# The instruction model of mcuprune's C runtime\n\nWritten by `bench/fit_instructions.py` "
            "(`make bench-deploy` reruns the check). Per operator: instructions = per MAC x MACs + per output x "
            "output values + per column x im2col column values (conv: input values per output pixel x pixels; "
            "dense: inputs) + per pixel x output pixels + per element x element operations + per edge output x "
            "outputs whose window reaches into the padding + per channel x output channels + fixed x invocations "
            "(patches of a stage op). Fitted per operator kind and kernel path on relative error to every "
            "operator of bench/deploy.py's runs (bench/work/deploy) and, for the scratch-free conv and dense "
            "paths, bench/kernels.sh's layers; predictions come from `profile --runtime mcuprune`'s "
            "`instructions`, measurements from `deploy --emulate` (QEMU -icount).\n\n")
    if a.check_only and os.path.exists(a.results):
        old = open(a.results).read()
        cut = old.find("## Check")
        if cut >= 0 and old.find("## Coefficients") >= 0:
            head = old[:cut]
    with open(a.results, "w") as f:
        f.write(head + "\n".join(lines) + "\n")
    print(f"wrote {a.results}; worst error {worst:.1f}% (fit), {worst_held:.1f}% (held out)")


if __name__ == "__main__":
    main()
