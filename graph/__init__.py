"""The composed graph: the agencies' contributions merged into Worker, Project, Enterprise
and DisputeCase (`merged`), the executable schema and its error policy (`schema`), any
contribution served alone as a federation subgraph (`subgraph`), row-level jurisdiction
(`jurisdiction`) and the hub's cross-agency fields (`derived`)."""
