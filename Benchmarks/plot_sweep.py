"""Draws the latency curves of Benchmarks/sweep.sh from its CSVs and prints the figures read from them.

Reads RESULTS/series.csv (one row per server: label, url, wrk path, saturation), RESULTS/wrk-<label>.csv and
RESULTS/load-<label>.csv; writes OUT/wrk-connections.svg and OUT/open-loop.svg (latency p50 and p99 against achieved
throughput, every server on the same axes) and prints a Markdown summary on stdout.

Run by sweep.sh with matplotlib from its own virtualenv (.build-bench/plot-venv); to redraw from kept results:
    .build-bench/plot-venv/bin/python Benchmarks/plot_sweep.py --results .build-bench/sweep-results/<time> --out Benchmarks/curves
"""

import argparse
import csv
import os

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator  # noqa: E402

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def ms_label(value, _position=None):
    if value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value:.3g} ms"


def setup_axes(ax, title):
    ax.set_title(title, fontsize=12, loc="left")
    ax.set_xlabel("achieved throughput (requests/s)")
    ax.set_ylabel("latency (log scale)")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(3, 4, 6, 7, 8, 9)))
    ax.yaxis.set_major_formatter(FuncFormatter(ms_label))
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 1.6)  # room for the point labels at the top
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.set_xlim(left=0)
    ax.grid(True, which="major", color="#cccccc", linewidth=0.6)
    ax.grid(True, which="minor", axis="y", color="#eeeeee", linewidth=0.4)


def curve(ax, xs, p50, p99, labels, color, name):
    ax.plot(xs, p99, "-o", color=color, markersize=5, linewidth=1.6, label=f"{name}: p99")
    ax.plot(xs, p50, "--s", color=color, markersize=4, linewidth=1.2, alpha=0.8, label=f"{name}: p50")
    for x, y, text in zip(xs, p99, labels):
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 5), fontsize=7.5, color=color)


def save(fig, path):
    fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)


def interpolate(rows, fraction, saturation, key):
    """The latency at `fraction` of saturation: the measured point with that target if there is one, else linear
    interpolation over the target rate between the two nearest measured points."""
    points = sorted((float(r["target_rps"]), float(r[key])) for r in rows)
    goal = fraction * saturation
    for rate, value in points:
        if abs(rate - goal) <= max(1.0, 0.005 * goal):
            return value, "measured"
    for (r0, v0), (r1, v1) in zip(points, points[1:]):
        if r0 <= goal <= r1:
            return v0 + (v1 - v0) * (goal - r0) / (r1 - r0), "interpolated"
    return None, "outside the sweep"


def knee(rows):
    """The wrk knee: the fewest connections past which doubling them adds less than 10 % throughput (from there on,
    more connections add queueing, not throughput)."""
    rows = sorted(rows, key=lambda r: int(r["connections"]))
    for row, following in zip(rows, rows[1:]):
        if float(following["rps"]) < 1.1 * float(row["rps"]):
            return row
    return rows[-1] if rows else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="folder with series.csv, wrk-<label>.csv, load-<label>.csv")
    parser.add_argument("--out", required=True, help="folder for the SVGs")
    parser.add_argument("--note", default="", help="one line under the titles: commit, date, settings")
    parser.add_argument("--logged-in", action="append", default=[], help="labels whose wrk page was fetched logged in")
    args = parser.parse_args()

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "microblog-sweep", "font.size": 10,
                         "font.family": "sans-serif"})
    series = read_csv(os.path.join(args.results, "series.csv"))
    if not series:
        raise SystemExit(f"no series.csv in {args.results}")

    # wrk: closed loop, one point per connection count.
    fig, ax = plt.subplots(figsize=(10, 6.4))
    pages = []
    for index, s in enumerate(series):
        rows = read_csv(os.path.join(args.results, f"wrk-{s['label']}.csv"))
        if not rows:
            continue
        rows.sort(key=lambda r: int(r["connections"]))
        page = f"GET {s['wrk_path']} ({'logged in' if s['label'] in args.logged_in else 'anonymous'})"
        pages.append(f"{s['label']}: {page}")
        curve(ax, [float(r["rps"]) for r in rows], [float(r["p50_ms"]) for r in rows], [float(r["p99_ms"]) for r in rows],
              [f"c{r['connections']}" for r in rows], COLORS[index % len(COLORS)], f"{s['label']} {page}")
    setup_axes(ax, "wrk (closed loop): latency against throughput as connections grow (c = connections)")
    if args.note:
        ax.text(0, -0.13, args.note, transform=ax.transAxes, fontsize=7.5, color="#555555")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.17), ncol=2, fontsize=8.5, frameon=False)
    save(fig, os.path.join(args.out, "wrk-connections.svg"))

    # Open loop: one point per target rate, in % of saturation.
    fig, ax = plt.subplots(figsize=(10, 6.4))
    for index, s in enumerate(series):
        rows = read_csv(os.path.join(args.results, f"load-{s['label']}.csv"))
        if not rows:
            continue
        rows.sort(key=lambda r: float(r["target_rps"]))
        color = COLORS[index % len(COLORS)]
        saturation = float(s["saturation_rps"])
        curve(ax, [float(r["achieved_rps"]) for r in rows], [float(r["p50_ms"]) for r in rows],
              [float(r["p99_ms"]) for r in rows], [f"{r['percent']}%" for r in rows], color, s["label"])
        ax.axvline(saturation, color=color, linestyle=":", linewidth=1,
                   label=f"{s['label']}: saturation, {saturation:,.0f} req/s")
    setup_axes(ax, "Open loop (microblog-stress load): latency from each request's due time\n"
                   "against achieved throughput (labels: target rate in % of saturation)")
    if args.note:
        ax.text(0, -0.13, args.note, transform=ax.transAxes, fontsize=7.5, color="#555555")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.17), ncol=2, fontsize=8.5, frameon=False)
    save(fig, os.path.join(args.out, "open-loop.svg"))

    # The figures read from the curves.
    print("| Server | saturation (open-loop probe) | open loop, most achieved | wrk best req/s | wrk knee | "
          "p50 / p99 at 50 % | p50 / p99 at 90 % |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for s in series:
        saturation = float(s["saturation_rps"])
        load = read_csv(os.path.join(args.results, f"load-{s['label']}.csv"))
        wrk = read_csv(os.path.join(args.results, f"wrk-{s['label']}.csv"))
        at = {}
        for fraction in (0.5, 0.9):
            p50, how = interpolate(load, fraction, saturation, "p50_ms") if load else (None, "no data")
            p99, _ = interpolate(load, fraction, saturation, "p99_ms") if load else (None, "no data")
            at[fraction] = f"{p50:.2f} / {p99:.2f} ms" if p50 is not None else how
            if how == "interpolated":
                at[fraction] += " (interpolated)"
        k = knee(wrk) if wrk else None
        knee_text = (f"{k['connections']} conns: {float(k['rps']):,.0f} req/s, p99 {float(k['p99_ms']):.2f} ms"
                     if k else "n/a")
        most = max((float(r["achieved_rps"]) for r in load), default=0)
        print(f"| {s['label']} | {saturation:,.0f} req/s ({s['saturation_source']}) | {most:,.0f} req/s | "
              f"{float(s['wrk_best_rps']):,.0f} | {knee_text} | {at[0.5]} | {at[0.9]} |")


if __name__ == "__main__":
    main()
