"""The layout rules of docs/design.md, checked from the source.

* The import graph of ``keras_ae`` (read with `ast`, imports inside
  functions included): no module imports ``keras_ae`` itself or a package
  above it, the library never imports the application (``keras_ae.app``),
  and there are no cycles.
* ``import keras_ae`` changes nothing in the process: no matplotlib, no
  file-descriptor juggling, no environment variables.
* Every file path cited in the repository exists in it.
"""

import ast
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "keras_ae")


def _module_names():
    names = {}
    for dirpath, _, filenames in os.walk(PACKAGE):
        for filename in filenames:
            if not filename.endswith(".py"):
                continue
            path = os.path.join(dirpath, filename)
            rel = os.path.relpath(path, ROOT)[: -len(".py")].split(os.sep)
            if rel[-1] == "__init__":
                rel = rel[:-1]
            names[".".join(rel)] = path
    return names


MODULES = _module_names()


def _module_level(tree):
    """The statements that run at import (not inside functions or classes)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def _imports(name, path, anywhere=True):
    """The keras_ae modules that module ``name`` imports (at import time, or anywhere)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree) if anywhere else _module_level(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "keras_ae")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.split(".")[0] != "keras_ae":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES else base)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}
# What runs at import time: imports inside functions (the standard way for a
# method such as `model.export` to reach a module above it) excluded.
IMPORT_TIME_GRAPH = {
    name: _imports(name, path, anywhere=False) for name, path in MODULES.items()
}


def test_graph_is_not_empty():
    assert len(GRAPH) > 40
    assert "keras_ae.models.base" in GRAPH["keras_ae.models.vae"]


def test_no_module_imports_a_package_above_it():
    offenders = []
    for name, targets in GRAPH.items():
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        if name == "keras_ae.__main__":
            continue  # runs as the program, after the package
        offenders += [(name, t) for t in targets if t in ancestors]
    assert not offenders, offenders


def test_the_library_never_imports_the_application():
    offenders = [
        (name, t)
        for name, targets in GRAPH.items()
        if not name.startswith("keras_ae.app") and name != "keras_ae.__main__"
        for t in targets
        if t == "keras_ae.app" or t.startswith("keras_ae.app.")
    ]
    assert not offenders, offenders


def test_no_import_cycles():
    """No cycle among the imports that run at import time."""
    graph, state, cycles = IMPORT_TIME_GRAPH, {}, []

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if target == node or target not in graph:
                continue
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state and name != "keras_ae":
            visit(name, [name])
    # The package facade imports everything by design; cycles through it are
    # ruled out by test_no_module_imports_a_package_above_it.
    cycles = [c for c in cycles if "keras_ae" not in c]
    assert not cycles, cycles


def test_import_keras_ae_changes_nothing_in_the_process():
    # Keras and TensorFlow set environment variables and import matplotlib
    # (when installed) by themselves: the baseline is `import keras`, then
    # keras_ae must add nothing. matplotlib is made unimportable (Keras
    # guards its own import): keras_ae must still import.
    code = """
import json, os, sys
sys.modules["matplotlib"] = None
import keras
calls = []
for fn in ("dup", "dup2", "close"):
    real = getattr(os, fn)
    def spy(*args, _real=real, _fn=fn):
        calls.append(_fn)
        return _real(*args)
    setattr(os, fn, spy)
before = dict(os.environ)
import keras_ae
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({"calls": calls, "changed": changed,
                  "app": sorted(m for m in sys.modules if m.startswith("keras_ae.app"))}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"calls": [], "changed": [], "app": []}


def test_plotting_imports_matplotlib_only_to_draw():
    code = """
import sys
sys.modules["matplotlib"] = None
import keras_ae.plotting
try:
    keras_ae.plotting.training_curves({"loss": [1.0, 0.5]})
except ImportError:
    print("needs matplotlib to draw")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("needs matplotlib to draw")


# Paths cited in text: a top-level folder of this repository, a docs/*.md
# file, or anything that climbs out of it.
_CITED = re.compile(
    r"(?<![\w./-])((?:\.\./)+[\w./-]+|(?:keras_ae|tests|benchmarks|docs|examples|tools|"
    r"saved_models|\.ci)/[\w./-]*[\w/]|[A-Z][A-Z_]+\.md)"
)
_TEXT = (".py", ".md", ".cfg", ".txt", ".toml", ".in", "")


def _repo_text_files():
    listed = subprocess.run(
        ["git", "ls-files", "--cached"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    for rel in listed:
        if rel.startswith("saved_models/") and not rel.endswith(".md"):
            continue  # model files and cards
        if rel == "tests/test_layout.py":
            continue  # cites missing files on purpose
        if os.path.splitext(rel)[1] in _TEXT and os.path.isfile(os.path.join(ROOT, rel)):
            yield rel


# Text that looks like a path but is not a citation: where pip installs the
# zoo, a ratio "keras_ae/plain", git-ignored output, a tampered path a test
# feeds to the zoo.
_NOT_CITATIONS = {"keras_ae/saved_models", "keras_ae/plain", "benchmarks/out", "../secret.txt"}


def _exists(cited, rel):
    cited = cited.rstrip("/.")
    if cited in _NOT_CITATIONS:
        return True
    if cited.startswith("../"):
        return False
    candidates = [os.path.join(ROOT, cited), os.path.join(ROOT, os.path.dirname(rel), cited)]
    if cited.startswith("saved_models/"):
        return True  # names of zoo folders are generated
    return any(os.path.exists(c) or "*" in c or "<" in c for c in candidates)


def test_every_cited_file_is_in_the_repository():
    missing = []
    for rel in _repo_text_files():
        with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                for cited in _CITED.findall(line):
                    if not _exists(cited, rel):
                        missing.append(f"{rel}:{lineno}: {cited}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("bad", ["../shared/DESIGN.md", "docs/nowhere.md", "DESIGN.md"])
def test_the_citation_check_catches_missing_files(bad):
    assert _CITED.findall(f"see {bad}, section 4") == [bad]
    assert not _exists(bad, "README.md")
