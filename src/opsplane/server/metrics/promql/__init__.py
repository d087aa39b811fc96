"""PromQL: parsed by `promql-parser`, evaluated here with numpy, as Prometheus 2.42 does.

Modules by concept: `ast` (our syntax tree), `plan` (what to fetch), `evaluator` (the walk),
`selectors`, `range_functions`, `over_time`, `functions`, `label_functions`, `histograms`,
`aggregations`, `binops`, and `results`/`format` (the API's JSON shapes).
"""

from opsplane.server.metrics.promql.engine import Engine, EngineOptions

__all__ = ["Engine", "EngineOptions"]
