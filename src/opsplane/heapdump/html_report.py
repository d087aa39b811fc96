"""One self-contained HTML file: inline CSS, inline JS, inline SVG; no network."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from opsplane.heapdump.report import Report

HISTOGRAM_ROWS = 1000
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;
color:#222}
h1{font-size:1.5em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#f4f6f8;border-radius:6px;
padding:.6em 1em;min-width:9em}.card b{display:block;font-size:1.3em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{padding:.25em .5em;
border-bottom:1px solid #eee;text-align:left;vertical-align:top}td.n,th.n{text-align:right;
font-variant-numeric:tabular-nums}th{background:#fafafa;position:sticky;top:0}
table.sortable th{cursor:pointer}table.sortable th:hover{background:#eef}
.suspect{border-left:4px solid #c33;background:#fff6f6;padding:.6em 1em;margin:1em 0}
code{font-size:.92em;word-break:break-all}.warn{background:#fff8e1;padding:.5em 1em}
details{margin:.3em 0}summary{cursor:pointer}.muted{color:#777}
"""
JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
 t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
  var b=t.tBodies[0],rows=Array.from(b.rows),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
  var num=th.classList.contains('n');rows.sort(function(x,y){
   var a=x.cells[i].dataset.v||x.cells[i].textContent,
       c=y.cells[i].dataset.v||y.cells[i].textContent;
   if(num){a=parseFloat(a)||0;c=parseFloat(c)||0;return asc?a-c:c-a}
   return asc?a.localeCompare(c):c.localeCompare(a)});rows.forEach(function(r){b.appendChild(r)})
 })})});
"""


def human(n: int | float | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def render_html(report: Report) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>Heap dump report</title><style>",
        CSS,
        "</style></head><body>",
        "<h1>Heap dump report</h1>",
        _summary(report),
        _warnings(report.warnings),
        _suspects(report),
        _chart(report),
        _dominators(report),
        _histogram(report),
        _strings(report),
        _collections(report),
        _threads(report),
        _unreachable(report),
        "<script>",
        JS,
        "</script></body></html>",
    ]
    return "".join(parts)


def _summary(report: Report) -> str:
    s, d = report.summary, report.details
    cards = [
        ("File", human(s["file_bytes"])),
        ("Heap (all objects)", human(s["heap_bytes"])),
        ("Reachable", human(d.get("reachable_bytes"))),
        ("Objects", f"{s['objects']:,}"),
        ("Classes", f"{s['classes']:,}"),
        ("GC roots", f"{s['gc_roots']:,}"),
        ("Identifier size", str(s["id_size"])),
        ("References", f"{d.get('reference_size', '?')} bytes"),
    ]
    body = "".join(f"<div class='card'>{escape(k)}<b>{escape(v)}</b></div>" for k, v in cards)
    return f"<h2>Summary</h2><div class='cards'>{body}</div>"


def _warnings(warnings: list[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return f"<div class='warn'><b>Warnings</b><ul>{items}</ul></div>"


def _suspects(report: Report) -> str:
    if not report.leak_suspects:
        return (
            "<h2>Leak suspects</h2><p class='muted'>No object or class retains 10 % of "
            "the heap.</p>"
        )
    out = ["<h2>Leak suspects</h2>", _share_chart(report)]
    for i, s in enumerate(report.leak_suspects, 1):
        acc = s["accumulation_point"]
        what = (
            f"One instance of <code>{escape(s['class'])}</code>"
            if s["kind"] == "object"
            else f"{s['instances']:,} instances of <code>{escape(s['class'])}</code>"
        )
        path = "".join(
            f"<li><code>{escape(p['label'])}</code> <span class='muted'>{escape(p['object_id'])}"
            f"</span> {escape(_link(p))}</li>"
            for p in s["path_to_root"]
        )
        out.append(
            f"<div class='suspect'><b>Suspect {i}</b>: {what} retains "
            f"<b>{human(s['retained_bytes'])}</b> ({s['heap_fraction']:.1%} of the reachable heap)."
            f"<br>Accumulation point: <code>{escape(acc['class'])}</code> "
            f"{escape(acc['object_id'])} retaining {human(acc['retained_bytes'])} in "
            f"{acc['retained_objects']:,} objects.<details><summary>Shortest path to a GC "
            f"root</summary><ol>{path}</ol></details></div>"
        )
    return "".join(out)


def _share_chart(report: Report) -> str:
    """One stacked bar (inline SVG): each suspect's share of the reachable heap."""
    colours = ("#c33", "#e67e22", "#d4ac0d", "#8e44ad", "#16a085")
    x, parts = 0.0, []
    for i, s in enumerate(report.leak_suspects):
        w = 800 * min(float(s["heap_fraction"]), 1.0)
        title = escape(f"Suspect {i + 1}: {s['class']} {s['heap_fraction']:.1%}")
        parts.append(
            f"<rect x='{x:.1f}' y='0' width='{w:.1f}' height='22' "
            f"fill='{colours[i % len(colours)]}'><title>{title}</title></rect>"
            f"<text x='{x + 4:.1f}' y='15' font-size='12' fill='#fff'>{i + 1}</text>"
        )
        x += w
    parts.append(f"<rect x='{x:.1f}' y='0' width='{800 - x:.1f}' height='22' fill='#ddd'/>")
    return f"<svg width='800' height='22' role='img'>{''.join(parts)}</svg>"


def _link(step: dict[str, Any]) -> str:
    if "gc_root" in step:
        return "GC root: " + ", ".join(step["gc_root"])
    return f"referenced by field {step['referenced_by']} of" if "referenced_by" in step else ""


def _chart(report: Report) -> str:
    """Horizontal bar chart (inline SVG) of the biggest classes."""
    key = "retained_bytes" if report.dominators else "shallow_bytes"
    rows = sorted(report.histogram, key=lambda r: -(r[key] or 0))[:15]
    if not rows:
        return ""
    peak = max(r[key] or 0 for r in rows) or 1
    bars = []
    for i, r in enumerate(rows):
        w = 600 * (r[key] or 0) / peak
        y = i * 22
        bars.append(
            f"<text x='0' y='{y + 15}' font-size='12'>{escape(r['class'][-60:])}</text>"
            f"<rect x='420' y='{y + 3}' width='{w / 2:.1f}' height='16' fill='#4a78c2'/>"
            f"<text x='{425 + w / 2:.1f}' y='{y + 15}' font-size='12'>{human(r[key])}</text>"
        )
    height = 22 * len(rows)
    title = "retained" if key == "retained_bytes" else "shallow"
    return (
        f"<h2>Biggest classes by {title} size</h2><svg width='900' height='{height}' "
        f"role='img'>{''.join(bars)}</svg>"
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int]) -> str:
    head = "".join(
        f"<th class='{'n' if i in numeric else ''}'>{escape(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            if i in numeric:
                cells.append(
                    f"<td class='n' data-v='{v if v is not None else 0}'>{_fmt(headers[i], v)}</td>"
                )
            else:
                cells.append(f"<td>{escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table class='sortable'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _fmt(header: str, v: Any) -> str:
    if v is None:
        return "-"
    return human(v) if "bytes" in header.lower() else f"{v:,}"


def _dominators(report: Report) -> str:
    if not report.dominators:
        return ""
    rows = [
        (d["class"], d["object_id"], d["shallow_bytes"], d["retained_bytes"], d["retained_objects"])
        for d in report.dominators
    ]
    return "<h2>Top dominators</h2>" + _table(
        ["Class", "Object", "Shallow bytes", "Retained bytes", "Retained objects"], rows, {2, 3, 4}
    )


def _histogram(report: Report) -> str:
    rows = [
        (r["class"], r["instances"], r["shallow_bytes"], r["retained_bytes"])
        for r in report.histogram[:HISTOGRAM_ROWS]
    ]
    note = (
        f"<p class='muted'>First {HISTOGRAM_ROWS} of {len(report.histogram)} classes; the "
        "JSON report has all.</p>"
        if len(report.histogram) > HISTOGRAM_ROWS
        else ""
    )
    return (
        "<h2>Class histogram</h2>"
        + note
        + _table(["Class", "Instances", "Shallow bytes", "Retained bytes"], rows, {1, 2, 3})
    )


def _strings(report: Report) -> str:
    if not report.duplicate_strings:
        return ""
    rows = [
        (s["value"][:120], s["count"], s["length"], s["wasted_bytes"])
        for s in report.duplicate_strings
    ]
    return "<h2>Duplicate strings</h2>" + _table(
        ["Value", "Count", "Length", "Wasted bytes"], rows, {1, 2, 3}
    )


def _collections(report: Report) -> str:
    if not report.collections:
        return ""
    rows = [
        (
            c["class"],
            c["instances"],
            c["empty"],
            c["mostly_empty"],
            c["average_fill"],
            c["wasted_bytes"],
        )
        for c in report.collections
    ]
    return "<h2>Empty and mostly empty collections</h2>" + _table(
        ["Class", "Instances", "Empty", "Under 25 % full", "Average fill", "Wasted bytes"],
        rows,
        {1, 2, 3, 4, 5},
    )


def _threads(report: Report) -> str:
    if not report.threads:
        return ""
    out = ["<h2>Threads</h2>"]
    for t in report.threads:
        frames = "".join(f"<li><code>{escape(f)}</code></li>" for f in t["frames"])
        out.append(
            f"<details><summary><b>{escape(t['name'] or '(unnamed)')}</b> "
            f"<code>{escape(t['class'])}</code> retains {human(t.get('retained_bytes'))}, "
            f"{len(t['frames'])} frames, {t['locals']} locals</summary><ol>{frames}</ol></details>"
        )
    return "".join(out)


def _unreachable(report: Report) -> str:
    u = report.unreachable
    if not u:
        return ""
    rows = [(c["class"], c["instances"], c["shallow_bytes"]) for c in u["classes"]]
    return (
        f"<h2>Unreachable objects</h2><p>{u['objects']:,} objects, "
        f"{human(u['shallow_bytes'])}, are in the dump but not reachable from a GC root."
        "</p>" + _table(["Class", "Instances", "Shallow bytes"], rows, {1, 2})
    )
