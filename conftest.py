# Root conftest: keeps doctest collection (--doctest-modules) off entry points.
collect_ignore = ["sk_avsc/__main__.py", "docs/conf.py", "examples", "benchmarks"]
