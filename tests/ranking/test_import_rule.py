from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matchmaker

# The parent package's __init__ is the Flask app factory and imports Flask itself; the rule is
# about what the ranking core pulls in, so the subprocess registers ``matchmaker`` as a bare
# namespace (its __init__ not run) and then imports every module of ``matchmaker.ranking``.
CODE = """
import importlib, json, pkgutil, sys, types
package = types.ModuleType("matchmaker")
package.__path__ = [{root!r}]
sys.modules["matchmaker"] = package
import matchmaker.ranking as ranking
for module in pkgutil.iter_modules(ranking.__path__):
    importlib.import_module(f"matchmaker.ranking.{{module.name}}")
loaded = sorted(k for k in sys.modules if k.split(".")[0] in {{"flask", "sqlalchemy"}})
print(json.dumps([len(list(pkgutil.iter_modules(ranking.__path__))), loaded]))
"""


def test_the_ranking_core_imports_neither_flask_nor_sqlalchemy() -> None:
    root = str(Path(matchmaker.__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", CODE.format(root=root)], capture_output=True, text=True, check=True
    )
    modules, loaded = json.loads(out.stdout)
    assert modules >= 10
    assert loaded == []
