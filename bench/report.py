"""The benchmark's table, its PASS/FAIL verdicts, and bench/RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

MB = 1024 * 1024
WIDGET_BUDGET = 8 * 1024


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def _rps(result) -> str:
    return f"{result.rps:,.0f}" if result else "-"


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def _lat(result) -> str:
    if not result:
        return "-"
    noisy = " *" if getattr(result, "other_cpu", 0) > 0.1 else ""
    return f"{_ms(result.p50_ms)} / {_ms(result.p99_ms)}{noisy}"


def _ratio(a, b) -> float | None:
    return a.rps / b.rps if a and b and b.rps else None


def _x(value: float | None, percent=False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.0f}%" if percent else f"{value:.1f}×"


def _load_rows(results: dict) -> tuple[list[str], list[bool]]:
    rows, verdicts = [], []
    header = ("| measure | Causerie req/s | p50 / p99 ms | Isso req/s | p50 / p99 ms | Causerie ÷ Isso "
              "| ceiling req/s | Causerie ÷ ceiling | target | result |")
    rows += [header, "|" + "---|" * 10]
    for db in ("sqlite", "postgresql"):
        causerie = results.get(f"causerie_{db}")
        if not causerie:
            continue
        label = "SQLite" if db == "sqlite" else ("PostgreSQL + Redis" if results.get("redis") else "PostgreSQL")
        # The peers measured in the same phase, in the same rounds.
        isso = results.get(f"isso_{db}", {})
        ceiling = results.get(f"ceiling_{db}", {})
        specs = [
            ("read", f"thread read, 200 comments ({label})", "read",
             "≥ 100× Isso and ≥ 50% of ceiling",
             lambda vi, vc: vi is not None and vc is not None and vi >= 100 and vc >= 0.5),
            ("304", f"revalidated read, 304 ({label})", "304", "≥ 80% of ceiling 304",
             lambda vi, vc: vc is not None and vc >= 0.8),
            ("counts", f"counts of 20 URLs ({label})", None, "≥ 2× Isso", lambda vi, vc: vi is not None and vi >= 2),
            ("post", f"posting ({label})", None, "≥ 1.5× Isso", lambda vi, vc: vi is not None and vi >= 1.5),
        ]
        for key, title, ceiling_key, target, check in specs:
            c, i = causerie[key], isso.get(key)
            top = ceiling.get(ceiling_key) if ceiling_key else None
            vi, vc = _ratio(c, i), _ratio(c, top)
            ok = check(vi, vc)
            verdicts.append(ok)
            rows.append(f"| {title} | {_rps(c)} | {_lat(c)} | {_rps(i)} | {_lat(i)} | {_x(vi)} "
                        f"| {_rps(top) if top else '-'} | {_x(vc, percent=True)} | {target} | {_verdict(ok)} |")
        floor = results.get(f"ceiling_query_{db}", {})
        for key, what in (("read", "thread read"), ("304", "revalidated read, 304")):
            f, top = floor.get(key), ceiling.get(key)
            if f:
                rows.append(f"| {what}, the ceiling app plus Causerie's one lookup query ({label}) | {_rps(f)} "
                            f"| {_lat(f)} | | | | {_rps(top)} | {_x(_ratio(f, top), percent=True)} "
                            f"| (information: Causerie is {_x(_ratio(causerie[key], f), percent=True)} of it) | |")
        f = floor.get("post")
        if f:
            rows.append(f"| posting, the ceiling app's bare write transaction: comment, thread version and audit "
                        f"event, nothing else ({label}) | {_rps(f)} | {_lat(f)} | {_rps(isso.get('post'))} "
                        f"| {_lat(isso.get('post'))} | {_x(_ratio(f, isso.get('post')))} | | "
                        f"| (information: Causerie is {_x(_ratio(causerie['post'], f), percent=True)} of it) | |")
        rows.extend(_post_cpu_row(causerie.get("post"), isso.get("post"), label, db == "postgresql"))
        for key, what in (("read", "thread read"), ("304", "revalidated read, 304"), ("counts", "counts of 20 URLs")):
            c = causerie.get(f"{key}_unlimited")
            top = ceiling.get(key)
            rows.append(f"| {what}, rate limiting off ({label}) | {_rps(c)} | {_lat(c)} | {_rps(isso.get(key))} "
                        f"| {_lat(isso.get(key))} | {_x(_ratio(c, isso.get(key)))} | {_rps(top) if top else '-'} "
                        f"| {_x(_ratio(c, top), percent=True)} | (information) | |")
        took = causerie.get("propagation_ms")
        if took:
            rows.append(f"| a comment posted on one instance, seen by a reader of another, ms ({label}) "
                        f"| median {_ms(took[len(took) // 2])}, max {_ms(took[-1])} (of {len(took)}) | | | | | | "
                        f"| (information: the promise is within 1 s) | |")
    return rows, verdicts


def _post_cpu_row(causerie, isso, label: str, servers: bool) -> list[str]:
    """Where a post's CPU goes: the server's workers, the database and Redis
    (which a second host would take off the server's cores), and the machine
    in all (load generator and kernel included).  ``servers``: Causerie's
    database and Redis run as servers of their own."""
    mine = getattr(causerie, "cpu_ms", None)
    if not mine:
        return []
    parts = [("workers", "server")] + ([("PostgreSQL", "postgres"), ("Redis", "redis")] if servers else [])
    spent = " + ".join(f"{mine[name]:.2f}" for _, name in parts)
    if len(parts) > 1:
        spent += f" = {sum(mine[name] for _, name in parts):.2f}"
    theirs = getattr(isso, "cpu_ms", None)
    other = f"{theirs['server']:.2f} (machine {theirs['machine']:.2f})" if theirs else "-"
    ratio = (f"{theirs['machine'] / mine['machine']:.2f}× (machine), {theirs['server'] / mine['server']:.2f}× "
             "(workers)") if theirs else "-"
    return [f"| CPU per post, ms: {' + '.join(title for title, _ in parts)} (machine: every process and the "
            f"kernel) ({label}) | {spent} (machine {mine['machine']:.2f}) | | {other} | | Isso's ÷ Causerie's: "
            f"{ratio} | | | (information: the database's share is what a second host would take off these "
            f"cores) | |"]


def _other_rows(results: dict) -> tuple[list[str], list[bool]]:
    rows = ["| measure | Causerie | Isso | ratio | target | result |", "|" + "---|" * 6]
    verdicts = []
    widget = results.get("widget_gzip", {})
    isso_embed = results.get("isso_embed_gzip")
    if "bytes" in widget and isso_embed:
        ratio = widget["bytes"] / isso_embed
        ok = ratio <= 0.4
        verdicts.append(ok)
        how = "as served, gzip" if widget["served_gzip"] else "served uncompressed; gzip -9 of it"
        rows.append(f"| widget.js gzip bytes ({how}) | {widget['bytes']:,} | {isso_embed:,} (embed.min.js, gzip -9) "
                    f"| {ratio * 100:.0f}% | ≤ 40% of Isso | {_verdict(ok)} |")
        rows.append(f"| widget.js gzip vs the design budget | {widget['bytes']:,} | | "
                    f"{widget['bytes'] / WIDGET_BUDGET * 100:.0f}% | ≤ 8 KB | {_verdict(widget['bytes'] <= WIDGET_BUDGET)} |")
    elif isso_embed is None:
        rows.append("| widget.js gzip bytes | (Isso not run) | | | ≤ 40% of Isso | n/a |")
    else:
        verdicts.append(False)
        rows.append(f"| widget.js gzip bytes | {widget.get('error', 'not measured')} | {isso_embed} | - | ≤ 40% of Isso | FAIL |")

    for db in ("sqlite", "postgresql"):
        causerie = results.get(f"causerie_{db}")
        if not causerie:
            continue
        isso_rss = results.get(f"isso_{db}", {}).get("rss") or []
        rss = causerie.get("rss") or []
        if rss and isso_rss:
            mine, theirs = sum(rss) / len(rss), sum(isso_rss) / len(isso_rss)
            ok = mine < theirs
            verdicts.append(ok)
            rows.append(f"| resident memory per worker after the load, MB ({db}) | {mine / MB:.1f} "
                        f"(workers: {', '.join(f'{r / MB:.1f}' for r in rss)}) | {theirs / MB:.1f} "
                        f"(workers: {', '.join(f'{r / MB:.1f}' for r in isso_rss)}) | {mine / theirs * 100:.0f}% "
                        f"| below Isso | {_verdict(ok)} |")
        pss, isso_pss = causerie.get("pss") or [], results.get(f"isso_{db}", {}).get("pss") or []
        if pss and isso_pss:
            mine, theirs = sum(pss) / len(pss), sum(isso_pss) / len(isso_pss)
            rows.append(f"| proportional memory (PSS) per worker after the load, MB ({db}) | {mine / MB:.1f} | "
                        f"{theirs / MB:.1f} | {mine / theirs * 100:.0f}% | (information: shared pages divided "
                        "among the processes that map them) | |")
    ceiling = results.get("ceiling_sqlite", {})
    if ceiling.get("rss"):
        rss = ceiling["rss"]
        rows.append(f"| resident memory per worker, in-memory ceiling app, MB | {sum(rss) / len(rss) / MB:.1f} | | | "
                    "(information) | |")

    scale = results.get("scale_sqlite")
    if scale:
        small, large = sorted(scale)
        a, b = scale[small], scale[large]
        ratio = b["read"].p50_ms / a["read"].p50_ms
        miss_ratio = b["miss_ms"] / a["miss_ms"]
        ok = ratio <= 1.2 and miss_ratio <= 1.2
        verdicts.append(ok)
        rows.append(f"| thread read p50 ms, 1 connection: {small:,} → {large:,} comments in the database "
                    f"| {_ms(a['read'].p50_ms)} → {_ms(b['read'].p50_ms)} (p99 {_ms(a['read'].p99_ms)} → "
                    f"{_ms(b['read'].p99_ms)}) | | {ratio:.2f}× | within 20% | {_verdict(ratio <= 1.2)} |")
        rows.append(f"| thread read on a cache miss (version advanced), median of 21, ms: {small:,} → {large:,} "
                    f"| {_ms(a['miss_ms'])} → {_ms(b['miss_ms'])} | | {miss_ratio:.2f}× | within 20% "
                    f"| {_verdict(miss_ratio <= 1.2)} |")
        for key, what in (("304", "revalidated read (304) p50 ms"), ("counts", "counts of 20 URLs p50 ms")):
            rows.append(f"| {what}: {small:,} → {large:,} | {_ms(a[key].p50_ms)} → {_ms(b[key].p50_ms)} | | "
                        f"{b[key].p50_ms / a[key].p50_ms:.2f}× | (information) | |")

    render = results.get("render")
    if render:
        if "error" in render:
            rows.append(f"| widget render of the 200-comment thread in Chromium | {render['error']} | | | (information) | |")
        else:
            rows.append(f"| widget render of the 200-comment thread in Chromium, ms | {render['ms']:.0f} "
                        f"({render['how']}) | | | (information) | |")
    return rows, verdicts


def build(results: dict, args) -> tuple[str, bool]:
    """The printable tables (Markdown) and whether every target passed."""
    load_rows, v1 = _load_rows(results)
    other_rows, v2 = _other_rows(results)
    notes = [
        f"Load: {results.get('tool', 'wrk')}, {args.connections} connections, {args.duration:g} s per run after a "
        f"warm-up; each server is loaded alone (in turn, scenario by scenario) with {args.workers} gunicorn sync "
        f"workers" + (f", in {args.rounds} whole rounds, each server keeping its fastest run" if args.rounds > 1 else "")
        + ". Latency in ms, p50 / p99." + (f" Everything ran at nice {args.nice}." if args.nice else "")
        + " Isso and the in-memory ceiling are measured in each database's phase, in the same rounds as the "
        "Causerie rows they are compared with (a fresh Isso, seeded alike, for the PostgreSQL phase).",
        f"Isso {results.get('isso_version', '(not run)')}: moderation off, guard off (its 2 posts/minute limit "
        "would refuse "
        "the posting run); it sends no ETag on thread reads, so its \"304\" row is a full read, which is what a "
        "repeat view costs with Isso.",
        "Causerie as deployed: rate limiting on (the default), with limits too high to refuse; reads, 304s and "
        "counts counted per process, posting in the shared storage (memory on SQLite; Redis on PostgreSQL when "
        "it answers on 127.0.0.1:6379). Rows \"rate limiting off\" (CAUSERIE_RATELIMIT_ENABLED=false) are "
        "information. Posting: site mode \"post\", a valid load-time ticket, sanitizing, rules, audit event and "
        "outbox all on. The database-size rows use one connection, with both sizes served at once and "
        "measured in turn. The propagation row: a comment posted on one server (instance) and polled for on "
        "another, on the same database. After seeding, the PostgreSQL database is ANALYZEd, as autovacuum would have it (this machine's PostgreSQL runs with autovacuum off); "
        "SQLite, which gathers no statistics by itself, is left as its users have it.",
        "Ceiling: a Flask app under the same gunicorn returning Causerie's own thread bytes from memory, with ETag/304. "
        "The rows \"the ceiling app plus Causerie's one lookup query\" run the same app after the query Causerie's "
        "read path makes when it must ask (site and thread version by key and URL, one connection per worker, "
        "psycopg or sqlite3): the fastest any design that asks the database on every read can be here. Causerie "
        "asks only after a change (each worker is told of changes), so it may beat it.",
    ] + results.get("notes", [])
    other = results.get("other_cpu")
    if other is not None:
        notes.append(f"Other processes on this machine used at most {other * 100:.0f}% of its CPU during any measured "
                     "run (PostgreSQL's server processes count as the measured server's)"
                     + (" (rows marked * had more than 10%: noisy)." if other > 0.1 else "."))
    text = "\n".join(load_rows) + "\n\n" + "\n".join(other_rows) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    verdicts = v1 + v2
    return text, all(verdicts)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {memory} memory, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def write(path: Path, table: str, args, results: dict) -> None:
    now = datetime.datetime.now(datetime.UTC)
    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    path.write_text(
        "# Benchmark results\n\n"
        f"- date: {now:%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {machine()}\n"
        f"- command: `{command.strip()}`\n"
        f"- took: {results.get('elapsed', 0):.0f} s\n\n"
        f"{table}\n"
    )
