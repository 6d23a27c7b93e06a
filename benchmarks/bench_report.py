"""The adapter-switch benchmark's targets, its pass/fail verdict and the table it prints."""

from __future__ import annotations

from typing import Any

from bench_support import MB

TARGETS: dict[str, Any] = {
    "switch_median_ms_max": 1.0,
    "reload_over_switch_min": 200.0,
    "memory_growth_max_factor": 1.5,
    "memory_growth_slack_bytes": 20 * MB,
    "decode_ratio_min": 0.85,
}


def memory_limit(result: dict[str, Any]) -> float:
    """Bytes the memory may grow by with every adapter registered: a factor of theirs plus slack."""
    t, adapters = result["targets"], result["memory"]["adapters_all_bytes"]
    return float(t["memory_growth_max_factor"] * adapters + t["memory_growth_slack_bytes"])


def judge(result: dict[str, Any]) -> dict[str, bool]:
    """Pass/fail of each target, and ``all``."""
    t = result["targets"]
    flags = {
        "switch": result["switch"]["median_ms"] <= t["switch_median_ms_max"],
        "reload_ratio": result["reload_over_switch"] >= t["reload_over_switch_min"],
        "memory": result["memory"]["growth_all_bytes"] <= memory_limit(result),
        "decode": result["decode"]["ratio"] >= t["decode_ratio_min"],
    }
    flags["all"] = all(flags.values())
    return flags


def table(result: dict[str, Any]) -> Any:
    """A rich ``Table`` of the result: each measure, its value, target and verdict."""
    from rich.table import Table

    t, ok = result["targets"], result["pass"]
    sw, mem, dec = result["switch"], result["memory"], result["decode"]
    n_all = mem["adapters_registered"]
    mark = {True: "[green]PASS[/green]", False: "[red]FAIL[/red]"}
    cfg = result["config"]
    out = Table(title=f"Adapter hot-swap ({cfg['switch_shape']}; decode on {cfg['decode_shape']})"
                      + (" [quick]" if result["quick"] else ""))
    out.add_column("measure")
    out.add_column("value", justify="right")
    out.add_column("target", justify="right")
    out.add_column("result")

    def info(measure: str, value: str, target: str = "") -> None:
        # A row with no target of its own: context for the judged rows.
        out.add_row(measure, value, target, "")

    out.add_row(f"switch A↔B median (n={sw['n']})", f"{sw['median_ms']:.3f} ms",
                f"≤ {t['switch_median_ms_max']:g} ms", mark[ok["switch"]])
    info("switch A↔B p95", f"{sw['p95_ms']:.3f} ms")
    info("  of which mx.eval of LoRA arrays", f"{sw['eval_only_median_ms']:.3f} ms")
    info("switch adapter↔base median", f"{sw['adapter_base_alternating_median_ms']:.3f} ms")
    info("first activation", f"{sw['first_activation_ms']:.1f} ms")
    info(f"full reload median (n={result['reload']['runs']})", f"{result['reload']['median_s']:.3f} s")
    info("backend load (incl. CPU float32 cast)", f"{mem['base_load_s']:.3f} s")
    out.add_row("reload / switch", f"{result['reload_over_switch']:,.0f}×",
                f"≥ {t['reload_over_switch_min']:g}×", mark[ok["reload_ratio"]])
    info("RSS / MLX arrays: base model",
         f"{mem['rss_base_bytes'] / MB:,.0f} / {mem['mlx_active_base_bytes'] / MB:,.0f} MB")
    info("  growth with 2 adapters",
         f"+{mem['rss_growth_2_bytes'] / MB:.1f} / +{mem['mlx_active_growth_2_bytes'] / MB:.1f} MB",
         f"(adapters: {mem['adapters_2_bytes'] / MB:.1f} MB)")
    info(f"  growth with {n_all} adapters",
         f"+{mem['rss_growth_all_bytes'] / MB:.1f} / +{mem['mlx_active_growth_all_bytes'] / MB:.1f} MB",
         f"(adapters: {mem['adapters_all_bytes'] / MB:.1f} MB)")
    out.add_row(f"memory growth, {n_all} adapters (larger)", f"{mem['growth_all_bytes'] / MB:.1f} MB",
                f"≤ {memory_limit(result) / MB:.1f} MB", mark[ok["memory"]])
    info("decode base (median)", f"{dec['base_tps_median']:.2f} tok/s")
    info("decode with adapter (median)", f"{dec['adapter_tps_median']:.2f} tok/s")
    out.add_row("adapter / base", f"{dec['ratio']:.3f}", f"≥ {t['decode_ratio_min']:g}", mark[ok["decode"]])
    info("adapter changes greedy output", str(dec["adapter_changes_output"]))
    info("peak RSS", f"{mem['peak_rss_bytes'] / MB:,.0f} MB")
    info("runtime", f"{result['runtime_s']:.1f} s (models {result['prepare_s']:.1f} s)")
    return out
