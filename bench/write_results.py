#!/usr/bin/env python3
"""Writes the figures collected by bench/run-all.sh into docs/benchmarks.md.

Usage: write_results.py RESULTS MACHINE DOC. RESULTS holds one line per figure, as run-all.sh
collects them (`P1 key=value ...`, `P3 {json}`, ...). The section between the
`<!-- bench:run-all:begin -->` and `<!-- bench:run-all:end -->` markers is replaced (appended
when the markers are missing); the rest of the document is left alone.
"""
import datetime
import json
import re
import sys

BEGIN, END = "<!-- bench:run-all:begin -->", "<!-- bench:run-all:end -->"


def fields(line):
    """`P1 a=1 b=x` -> {'a': '1', 'b': 'x'}; `P3 {...}` -> the JSON object."""
    rest = line.split(" ", 1)[1] if " " in line else ""
    rest = re.sub(r"^(python|node) ", "", rest)
    if rest.startswith("{"):
        return json.loads(rest)
    return dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)


def verdict(ok):
    return "**met**" if ok else "**not met**"


def per_round_met(values, met):
    """`"3.4,2.9,3.1"` and a test -> `"2 of 3 rounds"`."""
    if not values:
        return "one round"
    ratios = [float(v) for v in values.split(",")]
    return f"{sum(1 for r in ratios if met(r))} of {len(ratios)} rounds"


# The table's figure column for a tag whose name is not the figure's.
FIGURE = {"WAVES": "11"}

# Every tag a complete run writes, with the command that measures it.
EXPECTED = {
    "P1": "`bench/p1_cdk8s.sh 1000 5`",
    "P2": "`BENCH_PROFILE=release bench/apply_vs_kubectl.sh 200 3`",
    "P3": "`switch_latency 50`",
    "P4": "`fleet_memory --simulated 1000`, `fleet_memory 200`",
    "P5": "`bench/compile_python.sh 1000 21`, `bench/compile_node.sh 1000 9`",
    "WAVES": "`wave_bench 100`",
}


def rows(lines):
    out = []
    seen = set()
    for line in lines:
        tag = line.split(" ", 1)[0]
        seen.add(tag)
        failed = re.match(r"^\S+ failed exit=(\d+)$", line.strip())
        if failed:
            out.append((FIGURE.get(tag, tag), "(see the command)", f"**failed** (exit {failed.group(1)}; the run's log says why)",
                        "not measured in this run", EXPECTED.get(tag, "")))
            continue
        f = fields(line)
        if tag == "P1":
            ratio = float(f["ratio"])
            where = {"disk": ", on the disk (ext4)", "tmpfs": ", in a tmpfs"}.get(f.get("fs", ""), "")
            out.append(("P1", f"compile {f['tenants']} tenants ({f['objects']} objects) to YAML, {f['layout']}{where}, whole process: moorage vs cdk8s",
                        f"moorage {int(f['moorage_objects_per_s']):,} obj/s vs cdk8s {int(f['cdk8s_objects_per_s']):,} obj/s: **{ratio}x**",
                        f"≥ 50x: {verdict(ratio >= 50)}", EXPECTED["P1"]))
        elif tag == "P2":
            speedup, over = float(f["speedup_vs_kubectl"]), float(f["moorage_over_raw"])
            rounds = f.get("rounds", "1")
            out.append(("P2", f"apply 200 tenants on the real control plane: moorage vs `kubectl apply --server-side` vs a raw concurrent SSA loop; medians of {rounds} rounds, the sides in a rotated order each round",
                        f"moorage {f['moorage_s']} s, kubectl {f['kubectl_s']} s, raw loop {f['raw_s']} s: **{speedup}x** kubectl, **{over}x** the raw loop"
                        f" (per round: {str(f.get('per_round_vs_kubectl', speedup)).replace(',', 'x, ')}x kubectl; {str(f.get('per_round_over_raw', over)).replace(',', 'x, ')}x the raw loop)",
                        f"≥ 3x kubectl: {verdict(speedup >= 3)} ({per_round_met(f.get('per_round_vs_kubectl'), lambda r: r >= 3)}); within 1.3x of raw: {verdict(over <= 1.3)} ({per_round_met(f.get('per_round_over_raw'), lambda r: r <= 1.3)})",
                        EXPECTED["P2"]))
        elif tag == "P3":
            p50, p99 = f["p50_ms"], f["p99_ms"]
            out.append(("P3", f"switch latency, green Available → stable selector patched, {f['rollouts']} blue/green rollouts ({f['backend']})",
                        f"p50 **{p50} ms**, p99 **{p99} ms**", f"p50 < 50 ms, p99 < 250 ms: {verdict(p50 < 50 and p99 < 250)}", EXPECTED["P3"]))
        elif tag == "P4":
            peak = f["peak_rss_after_status_mib"]
            flag = " --simulated" if f["backend"] == "simulated" else ""
            out.append(("P4", f"peak RSS of one process managing {f['tenants']} tenants ({f['backend']}{', the simulated cluster in the same process' if flag else ''}): apply, release, status of each twice",
                        f"**{peak} MiB**", f"< 150 MiB: {verdict(peak < 150)}", f"`fleet_memory{flag} {f['tenants']}`"))
        elif tag == "P5":
            lang = line.split(" ")[1]
            ratio = float(f["ratio"])
            in_ratio = float(f.get("in_process_ratio", "nan"))
            in_us = f.get(f"{lang}_in_process_median_us")
            start_key = "python_startup_and_import_us" if lang == "python" else "node_startup_and_load_us"
            out.append(("P5", f"the P1 work from {lang.capitalize()} vs Rust, same run: inside the process (after start-up), and whole process",
                        f"in process {int(in_us or 0) / 1000:.1f} ms vs Rust {int(f.get('rust_in_process_median_us', 0)) / 1000:.1f} ms: **{in_ratio}x**; "
                        f"whole process {int(f[lang + '_median_us']) / 1000:.1f} ms vs {int(f['rust_median_us']) / 1000:.1f} ms: **{ratio}x** "
                        f"({lang} start-up and import alone {int(f.get(start_key, 0)) / 1000:.1f} ms; output {f.get('output', '?')})",
                        f"within 1.5x: in process {verdict(in_ratio <= 1.5)}, whole process {verdict(ratio <= 1.5)}{floor_note(lang, f)}", f"`bench/compile_{lang}.sh 1000 {f.get('runs', 7)}`"))
        elif tag == "WAVES":
            out.append((FIGURE["WAVES"], f"fleet wave upgrade of {f['tenants']} tenants ({f['backend']}): canary tenant, 10%, 50%, 100%, 10 at once",
                        f"**{f['wave_wall_s']} s** wall ({f['per_tenant_ms']} ms per tenant); CPU {f['wave_cpu_s']} s, so **{float(f['waiting_share']) * 100:.0f}%** of the wall time is spent waiting on the cluster; peak RSS {f['peak_rss_mib']} MiB",
                        "recorded (no target)", f"`wave_bench {f['tenants']}`"))
    for tag, command in EXPECTED.items():
        if tag not in seen:
            out.append((FIGURE.get(tag, tag), "(see the command)", "**not measured**: the benchmark printed no result (the run's log says why)",
                        "not measured in this run", command))
    return out


def floor_note(lang, f):
    """Why a whole-process ratio is missed: the interpreter's bare start-up, paid before any work,
    against Rust's whole run (both measured in the same run), and, when the environment sets
    NODE_EXTRA_CA_CERTS, the ratio without it."""
    if float(f["ratio"]) <= 1.5:
        return ""
    bare, rust = int(f.get(f"{lang}_bare_startup_us", 0)), int(f["rust_median_us"])
    command = "node -e 0" if lang == "node" else "python -c pass"
    note = (f" (the interpreter's start-up comes on top of the in-process ratio: a bare `{command}` takes"
            f" {bare / 1000:.1f} ms, {100 * bare / rust:.0f}% of Rust's whole run of {rust / 1000:.1f} ms")
    if "ratio_without_extra_ca" in f:
        note += (f"; this machine's NODE_EXTRA_CA_CERTS makes Node parse the system CA bundle at every start:"
                 f" without it the bare start is {int(f['node_bare_startup_without_extra_ca_us']) / 1000:.1f} ms"
                 f" and the whole run {int(f['node_without_extra_ca_median_us']) / 1000:.1f} ms, {f['ratio_without_extra_ca']}x")
    return note + ")"


def main():
    results, machine, doc = sys.argv[1:4]
    lines = [l.strip() for l in open(results) if l.strip()]
    table = ["| figure | what | measured | target | command |", "| --- | --- | --- | --- | --- |"]
    table += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows(lines)]
    section = "\n".join([
        BEGIN,
        "## Issue 11: P1 to P5 and the fleet wave upgrade (generated)",
        "",
        f"Written by `bench/run-all.sh` on {datetime.date.today().isoformat()}; machine: {machine}. "
        "Each comparison is measured side by side in the same run; the release programs live in "
        "`bench/` and `tests/src/bin/`. Raw lines of the run:",
        "",
        *table,
        "",
        "```",
        *lines,
        "```",
        END,
    ])
    text = open(doc).read()
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    open(doc, "w").write(text)


if __name__ == "__main__":
    main()
