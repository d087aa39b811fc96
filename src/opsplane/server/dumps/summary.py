"""The AI summary step: leak suspects -> a short narrative with concrete next steps.

With an OpenAI-compatible endpoint configured (base URL, model, key) the narrative comes from
its chat completions API; without one (or when it fails) a deterministic summary is written
from the same JSON, so every analysed file has a summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

SYSTEM_PROMPT = (
    "You are a senior JVM performance engineer. Given the leak suspects of a Java heap dump "
    "(from an analyzer like Eclipse MAT), write a short narrative (at most 150 words) of what "
    "most likely exhausted the heap, naming the classes and fields involved, then 2-4 "
    "concrete next steps as a numbered list. Do not invent classes that are not in the data."
)


class SummaryError(Exception):
    """The AI endpoint failed; the message says how (no secrets in it)."""


@dataclass(frozen=True, slots=True)
class AIEndpoint:
    url: str
    model: str
    key: str | None
    timeout: float = 60.0


def mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _path(suspect: dict[str, Any]) -> str:
    steps = []
    for step in suspect.get("path_to_root", [])[:6]:
        via = step.get("referenced_by")
        steps.append(f"{step.get('label', step.get('class', '?'))}" + (f" ({via})" if via else ""))
    return " <- ".join(steps)


def _heap_sizes(first: dict[str, Any], total: int) -> str:
    """Shares are of the live (reachable) heap, which the dump's total also counts garbage in."""
    fraction = float(first.get("heap_fraction") or 0)
    if fraction <= 0:
        return f"the dump holds {mib(total)} of objects"
    live = float(first.get("retained_bytes", 0)) / fraction
    return f"live heap {mib(live)} of {mib(total)} in the dump"


def deterministic(heap: dict[str, Any], suspects: list[dict[str, Any]]) -> str:
    """A plain-text summary built only from the analyzer's JSON."""
    total = heap.get("heap_bytes") or 0
    if not suspects:
        return (
            f"No single object or class retains 10% or more of the heap ({mib(total)} in "
            f"{heap.get('objects', 0):,} objects). Next steps:\n"
            "1. Compare the class histogram with a dump taken earlier (opsplane heapdump diff).\n"
            "2. Check whether the heap limit (-Xmx) fits the workload."
        )
    lines = [f"{len(suspects)} leak suspect(s); {_heap_sizes(suspects[0], total)}:"]
    for i, s in enumerate(suspects[:3], 1):
        share = f"{float(s.get('heap_fraction', 0)) * 100:.0f}%"
        who = (
            f"one instance of {s['class']}"
            if s.get("kind") == "object"
            else f"{s.get('instances', 0):,} instances of {s['class']}"
        )
        point = s.get("accumulation_point") or {}
        lines.append(
            f"{i}. {who} retains {mib(s.get('retained_bytes', 0))} ({share} of the live heap); "
            f"the memory accumulates in {point.get('class', '?')}"
            + (f", reached via {_path(s)}." if s.get("path_to_root") else ".")
        )
    first = suspects[0]
    lines += [
        "Next steps:",
        f"1. Find the code that adds to {first['class']} and check that entries are removed "
        "(eviction, size bound or weak references).",
        f"2. Look at what {(first.get('accumulation_point') or {}).get('class', 'it')} holds "
        "in the HTML report (dominator tree) to see which objects pile up.",
        "3. Take a second dump later and diff the histograms to confirm the growth rate.",
    ]
    return "\n".join(lines)


def _prompt(heap: dict[str, Any], suspects: list[dict[str, Any]]) -> str:
    slim = [
        {k: s.get(k) for k in ("kind", "class", "instances", "retained_bytes", "heap_fraction")}
        | {
            "accumulation_point": (s.get("accumulation_point") or {}).get("class"),
            "path_to_root": _path(s),
        }
        for s in suspects[:5]
    ]
    return json.dumps({"heap": heap, "leak_suspects": slim}, indent=1)


async def ask_ai(endpoint: AIEndpoint, heap: dict[str, Any], suspects: list[dict[str, Any]]) -> str:
    """One chat completion; SummaryError for any failure (timeouts, HTTP errors, bad JSON)."""
    url = endpoint.url.rstrip("/")
    if not url.endswith("/chat/completions"):
        url += "/chat/completions"
    headers = {"Authorization": f"Bearer {endpoint.key}"} if endpoint.key else {}
    body = {
        "model": endpoint.model,
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": _prompt(heap, suspects)},
        ],
    }
    try:
        async with httpx.AsyncClient(timeout=endpoint.timeout) as client:
            response = await client.post(url, json=body, headers=headers)
        response.raise_for_status()
        text = response.json()["choices"][0]["message"]["content"]
    except httpx.HTTPStatusError as exc:
        raise SummaryError(f"AI endpoint answered {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        raise SummaryError(f"AI endpoint unreachable: {type(exc).__name__}") from None
    except (ValueError, KeyError, IndexError, TypeError):
        raise SummaryError("AI endpoint sent no chat completion") from None
    if not isinstance(text, str) or not text.strip():
        raise SummaryError("AI endpoint sent an empty answer")
    return text.strip()
