"""The house's layering, read from the source with ``ast``.

DESIGN §1 and docs/contributing.rst: data flows one way (public functions
-> _validate -> _plan/_padding -> _engine -> _core, with _output at
the end), no module imports from a layer above it, and no module reaches
into another module's ``_private`` names.  This test parses every module of
the package (imports inside functions included) and fails on either.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cfilter"

# Rank of each module: a module may import from its own rank or a larger one.
# Clients (command line, Dask, nn, the package's namespace) call the public
# functions; issue 10 lets them use the ``_validate`` helpers too, and
# nothing below those.
CLIENT, PUBLIC, VALIDATE, PLAN, ENGINE, FFT, CORE, OUTPUT = range(8)
LAYERS = {
    "cfilter": CLIENT, "cfilter.__main__": CLIENT, "cfilter.cli": CLIENT,
    "cfilter.dask": CLIENT, "cfilter.nn": CLIENT,
    "cfilter._bench": CLIENT,
    "cfilter._api": PUBLIC, "cfilter.filters": PUBLIC,
    "cfilter.kernels": PUBLIC, "cfilter._transpose": PUBLIC,
    "cfilter._matrix": PUBLIC, "cfilter._shapes": PUBLIC,
    "cfilter._template": PUBLIC, "cfilter._frequency": PUBLIC,
    "cfilter._config": PUBLIC, "cfilter._boundary_map": PUBLIC,
    "cfilter._validate": VALIDATE,
    "cfilter._plan": PLAN, "cfilter._padding": PLAN,
    "cfilter._engine": ENGINE,
    "cfilter._core": CORE,
    "cfilter._output": OUTPUT,
}
# Helpers any layer may use; they import only other helpers and _core.
# _limits is one: _plan asks it about sizes and geometry, _engine runs its
# gather/scatter around the compiled loops.  _phases is one: the transposed
# phases, read by _engine (for the compiled transpose) and by nn.  _typing
# is one: the types of the public signatures, which imports nothing from
# cfilter.
HELPERS = {"cfilter._threads", "cfilter._indexing", "cfilter._docstrings",
           "cfilter._limits", "cfilter._phases", "cfilter._typing"}
# _engine is the only caller of the compiled loops; the rest of the core is
# off limits except _boundary's enum and build facts (BoundaryMode,
# build_info), which validation, index maps and show_config need, the
# process's one thread pool (_pool), which _threads configures and whose
# Python-side share it wraps for the steps driven from Python, and the CPU
# probe (_cpu), whose level flags show_config reports.
SHARED_CORE = {"cfilter._core", "cfilter._core._boundary",
               "cfilter._core._pool", "cfilter._core._cpu"}
# Imports that cross the order on purpose, each with its reason.
EXCEPTIONS = {
    # set_num_threads is a public function living beside the thread
    # defaults; it validates its argument like every public function
    # (imported inside the function, since _validate imports _threads).
    ("cfilter._threads", "cfilter._validate"),
}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_module(name):
    rel = Path(*name.split("."))
    root = PACKAGE.parent
    return ((root / rel).with_suffix(".py").exists()
            or (root / rel).is_dir()
            or (root / rel).with_suffix(".pyx").exists())


def _layer(name):
    """(kind, rank) of a package module: its own entry or its package's."""
    probe = name
    while probe:
        if probe in HELPERS:
            return "helper", None
        if probe in LAYERS:
            return "layer", LAYERS[probe]
        probe = probe.rpartition(".")[0]
    raise AssertionError(f"{name} has no layer in tests/test_layering.py; "
                         "add it to LAYERS or HELPERS")


def _is_private(name):
    return name.startswith("_") and not name.startswith("__")


def _imports(module, path):
    """(imported module, private names taken from it, line) of each import,
    plus ``alias._name`` attribute reads on imported package modules."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "cfilter":
                    found.append((a.name, [], node.lineno))
                    aliases[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else "cfilter")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.split(".")[0] != "cfilter":
                continue
            private = []
            for a in node.names:
                full = f"{base}.{a.name}"
                if _is_module(full):
                    found.append((full, [], node.lineno))
                    aliases[a.asname or a.name] = full
                else:
                    if _is_private(a.name):
                        private.append(a.name)
            found.append((base, private, node.lineno))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and _is_private(node.attr)):
            target = f"{aliases[node.value.id]}.{node.attr}"
            if not _is_module(target):
                found.append((aliases[node.value.id], [node.attr],
                              node.lineno))
    return found


def _violations():
    bad = []
    for module, path in _modules().items():
        kind, rank = _layer(module)
        for target, private, line in _imports(module, path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if target == module or target.startswith(module + "."):
                continue  # a package reading its own submodules
            if private:
                bad.append(f"{where}: {module} takes private {private} "
                           f"from {target}")
            if target == "cfilter" and module != "cfilter":
                tkind, trank = "layer", PUBLIC  # the public namespace
            else:
                tkind, trank = _layer(target)
            if (target.startswith("cfilter._core") and module != "cfilter._engine"
                    and target not in SHARED_CORE):
                bad.append(f"{where}: {module} imports {target}; _engine is "
                           "the only caller of the compiled loops")
            if (module, target) in EXCEPTIONS or tkind == "helper":
                continue
            if kind == "helper":
                if trank != CORE:
                    bad.append(f"{where}: helper {module} imports {target}")
            elif kind == "layer" and rank == CLIENT and trank > VALIDATE:
                bad.append(f"{where}: client {module} reaches past the "
                           f"public functions into {target}")
            elif trank < rank:
                bad.append(f"{where}: {module} (layer {rank}) imports "
                           f"{target} (layer {trank}), a layer above it")
    return bad


def test_every_module_has_a_layer():
    for module in _modules():
        _layer(module)


def test_no_private_or_upward_imports():
    assert _violations() == []


@pytest.mark.parametrize("source, expected", [
    ("from ._api import _deliver\n", "takes private"),
    ("from . import _api\nx = _api._deliver\n", "takes private"),
    ("from ._validate import as_int\n", "a layer above it"),
])
def test_the_audit_catches_a_planted_import(monkeypatch, source, expected):
    # A planted import in the engine layer must be reported.
    planted = PACKAGE / "_engine.py"
    monkeypatch.setattr(Path, "read_text", _planting(planted, source))
    assert any(expected in v for v in _violations())


def test_the_audit_catches_a_second_caller_of_the_core(monkeypatch):
    planted = PACKAGE / "_transpose.py"
    monkeypatch.setattr(Path, "read_text", _planting(
        planted, "from ._core._transpose import conv_transpose_planes\n"))
    assert any("only caller of the compiled loops" in v
               for v in _violations())


def test_the_audit_catches_a_client_calling_an_engine(monkeypatch):
    planted = PACKAGE / "dask.py"
    monkeypatch.setattr(Path, "read_text", _planting(
        planted, "from cfilter._engine import run\n"))
    assert any("reaches past the public functions" in v
               for v in _violations())


def _planting(planted, source):
    plain = Path.read_text

    def read_text(self, *args, **kwargs):
        text = plain(self, *args, **kwargs)
        return text + source if self == planted else text
    return read_text
