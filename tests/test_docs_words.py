"""User-facing text speaks the user's language and renders as written.

Scanned: the sources the documentation is made from (``docs/**/*.rst``,
the gallery scripts ``docs/examples/*.py`` and their header, the tables
that ``docs/_ext/benchresults.py`` generates from the recorded results),
the docstrings of every public module, function, class and method, the
command line's help, and the README.

**The words.** User text never names the project's own workshop: the
articles it grew from ("seed", "seeds"), its design contract ("DESIGN",
"DESIGN.md", "design notes", "§ 2"), its tickets and work sessions
("issue 12", "stop 3") or "the team".  The one exception is code that uses
numpy's random API: in code (doctest lines, literal blocks, inline
literals, the gallery scripts' statements) the Python *name* ``seed`` may
appear, as in ``np.random.default_rng(seed)``; comments and strings in
that code are prose and are checked.

**The backticks.** reStructuredText has no nested inline markup: a
literal inside bold (``**the ``x`` option**``) or a literal glued to a
letter (````x``s``) shows its backticks on the page.  Every pair of
double backticks in prose must open after a space or an opening
punctuation mark and close before a space or a punctuation mark, and
never sit inside ``**bold**`` or ``*emphasis*``.
"""
import inspect
import io
import os
import re
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

FORBIDDEN = [
    (re.compile(r"\bseeds?\b", re.I), "the articles the project grew from"),
    (re.compile(r"\bDESIGN\b"), "the design contract"),
    (re.compile(r"DESIGN\.md", re.I), "the design contract"),
    (re.compile(r"\bdesign\s+(notes?|contract|doc(ument)?s?)\b", re.I),
     "the design contract"),
    (re.compile(r"§\s*\d"), "a section of the design contract"),
    (re.compile(r"\bissues?\s+#?\d+", re.I), "a ticket number"),
    (re.compile(r"\bstops?\s+\d+", re.I), "a work session"),
    (re.compile(r"\bthe\s+team\b", re.I), "the people, not the user's words"),
]

# In code, `seed` as a Python name (numpy's random API) is allowed.
_SEED_NAME = re.compile(r"\bseed\b")


# ---------------------------------------------------------------------------
# Splitting text into prose and code
# ---------------------------------------------------------------------------

def python_prose(source):
    """The comments and string literals of Python ``source`` (the prose a
    reader sees in code); names such as ``seed`` are left out.  Source that
    does not tokenize is returned whole, less the name ``seed``."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.STRING):
                out.append(tok.string)
            elif sys.version_info >= (3, 12) and tok.type in (
                    tokenize.FSTRING_MIDDLE,):
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _SEED_NAME.sub("", source)
    return "\n".join(out)


def code_text(text):
    """What of a piece of code counts as prose: for Python, its comments
    and strings; for anything else (shell, output), all but the name
    ``seed``."""
    prose = python_prose(text)
    return prose if prose.strip() or "seed" not in text \
        else _SEED_NAME.sub("", text)


_CODE_DIRECTIVE = re.compile(
    r"^(\s*)\.\. (plot|code-block|code|sourcecode|testcode|testsetup|"
    r"testoutput|doctest|literalinclude|math|raw|ipython)::")


def split_rst(text):
    """``(prose_paragraphs, code_pieces)`` of reStructuredText: literal
    blocks, code directives and doctest lines are code; inline literals are
    cut out of the prose into the code."""
    lines = text.splitlines()
    prose, code, para = [], [], []
    i = 0

    def flush():
        if para:
            prose.append(" ".join(para))
            para.clear()

    def block_after(i, indent):
        """The lines after ``i`` indented deeper than ``indent`` (with the
        blank lines among them); the index past them."""
        j, block = i + 1, []
        while j < len(lines):
            line = lines[j]
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            block.append(line)
            j += 1
        return block, j

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        m = _CODE_DIRECTIVE.match(line)
        if m:
            flush()
            block, i = block_after(i, indent)
            body = [b for b in block if not re.match(r"\s*:[\w-]+:", b)]
            code.append("\n".join(b.strip() for b in body))
            # a directive's options (:caption:, :alt:) are prose
            for b in block:
                opt = re.match(r"\s*:(caption|alt):\s*(.*)", b)
                if opt:
                    prose.append(opt.group(2))
            continue
        if stripped.startswith(">>>"):
            flush()
            source, output = [], []
            while i < len(lines) and lines[i].strip():
                s = lines[i].strip()
                if s.startswith(">>>") or s.startswith("..."):
                    source.append(s[4:])
                else:
                    output.append(s)
                i += 1
            code.append("\n".join(source))
            if output:
                code.append("\n".join(output))
            continue
        if not stripped:
            flush()
            i += 1
            continue
        para.append(stripped)
        if stripped.endswith("::") and not stripped.startswith(".. "):
            # a literal block follows (after a blank line)
            flush()
            block, i = block_after(i, indent)
            code.append("\n".join(b.strip() for b in block))
            continue
        i += 1
    flush()
    clean = []
    for p in prose:
        for lit in re.findall(r"``(.+?)``", p):
            code.append(lit)
        clean.append(p)
    return clean, code


def prose_without_literals(paragraph):
    return re.sub(r"``.+?``", " ", paragraph)


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------

def internal_words(text, kind="rst"):
    """Every forbidden phrase in ``text`` as ``(phrase, why)``."""
    if kind == "python":
        pieces = [python_prose(text)]
    elif kind == "plain":
        pieces = [text]
    else:
        prose, code = split_rst(text)
        pieces = [prose_without_literals(p) for p in prose] + \
            [code_text(c) for c in code]
    found = []
    for piece in pieces:
        for pattern, why in FORBIDDEN:
            for m in pattern.finditer(piece):
                found.append((m.group(0), why))
    return found


_OPEN_OK = set(" \t'\"([{<-/:‘“’«¡¿")
_CLOSE_OK = set(" \t-.,:;!?\\/'\")]}>’”»")


def literal_backticks(text):
    """Every place in the prose of reStructuredText ``text`` where double
    backticks would show on the page."""
    prose, _ = split_rst(text)
    bad = []
    for p in prose:
        # asterisks inside literals are not markup: blank them out first
        masked = re.sub(r"``(.+?)``", lambda m: "``" + "x" * len(m.group(1))
                        + "``", p)
        for m in re.finditer(r"(?<![*\w])\*\*(?=\S)(.+?)(?<=\S)\*\*"
                             r"|(?<![*\w])\*(?=[^*\s])([^*]*?)(?<=\S)\*(?!\*)",
                             masked):
            if "``" in m.group(0):
                bad.append("a literal inside bold or emphasis: "
                           + p[m.start():m.end()])
        marks = [m.start() for m in re.finditer(r"``", p)]
        for start, end in zip(marks[::2], marks[1::2]):
            before = p[start - 1] if start > 0 else " "
            after = p[end + 2] if end + 2 < len(p) else " "
            if before not in _OPEN_OK or after not in _CLOSE_OK:
                bad.append("a literal glued to the text around it: "
                           + p[max(0, start - 15):end + 17])
    return bad


# ---------------------------------------------------------------------------
# The sources
# ---------------------------------------------------------------------------

def rst_files():
    skip = {"_build", "auto_examples", "_generated", "_ext"}
    return sorted(p for p in DOCS.rglob("*.rst")
                  if not skip & set(p.relative_to(DOCS).parts))


def gallery_sources():
    """``(name, rst_text, python_code)`` of each gallery script: the
    docstring and the ``# %%`` text blocks are reStructuredText."""
    out = []
    for path in sorted((DOCS / "examples").glob("*.py")) + \
            sorted(DOCS.glob("examples_*.py")):
        source = path.read_text(encoding="utf-8")
        doc = re.match(r'\s*"""(.*?)"""', source, re.S)
        rst = [doc.group(1)] if doc else []
        code = source[doc.end():] if doc else source
        blocks = re.findall(r"^# %%[^\n]*\n((?:#[^\n]*\n)+)", code, re.M)
        for block in blocks:
            rst.append("\n".join(line[2:] for line in block.splitlines()))
        code = re.sub(r"^# %%[^\n]*\n(?:#[^\n]*\n)+", "", code, flags=re.M)
        out.append((path.relative_to(ROOT).as_posix(), "\n\n".join(rst),
                    code))
    return out


def _public(module):
    names = getattr(module, "__all__", None) or [
        n for n in vars(module) if not n.startswith("_")]
    return [(n, getattr(module, n)) for n in names]


def docstrings():
    """``(qualified name, docstring)`` of every public module, function,
    class, method and property."""
    import cfilter
    modules = [("cfilter", cfilter)]
    for name in ("kernels", "filters", "nn", "cli", "dask"):
        try:
            modules.append((f"cfilter.{name}",
                            __import__(f"cfilter.{name}",
                                       fromlist=["_"])))
        except ImportError:                 # dask not installed
            pass
    seen, out = set(), []
    for modname, module in modules:
        out.append((modname, inspect.getdoc(module) or ""))
        for name, obj in _public(module):
            if inspect.ismodule(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            if not (callable(obj) or isinstance(obj, type)):
                continue
            out.append((f"{modname}.{name}", inspect.getdoc(obj) or ""))
            if isinstance(obj, type):
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    doc = inspect.getdoc(member) if not isinstance(
                        member, (property,)) else member.__doc__
                    if doc:
                        out.append((f"{modname}.{name}.{attr}", doc))
    return out


def cli_help():
    """The help text of ``cfilter`` and each of its commands."""
    import contextlib
    from cfilter.cli import main
    out = []
    for args in ([], ["apply"], ["kernels"], ["demo"], ["bench"]):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
            main(args + ["--help"])
        out.append((" ".join(["cfilter"] + args + ["--help"]),
                    buf.getvalue()))
    return out


def generated_tables():
    """The reStructuredText that docs/_ext/benchresults.py makes of the
    recorded results (the headline and every table)."""
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import benchresults as br
    finally:
        sys.path.pop(0)
    results = ROOT / "benchmarks" / "results"
    text = []
    for group in br.GROUPS:
        if not (results / f"{group}.json").exists():
            continue
        data = br.load(str(results), group)
        lines = (br.load_table_lines(data) if group.startswith("load_")
                 else br.ratio_table_lines(data))
        text += lines + [br.conditions(data["meta"]), ""]
    try:
        text += br.headline_lines(str(results))
    except br.ResultsError:
        pass
    return "\n".join(text)


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def _report(found):
    return "; ".join(f"{phrase!r} ({why})" for phrase, why in found)


@pytest.mark.parametrize("path", rst_files(),
                         ids=lambda p: p.relative_to(DOCS).as_posix())
def test_rst_pages_have_no_internal_words(path):
    found = internal_words(path.read_text(encoding="utf-8"))
    assert not found, f"{path}: {_report(found)}"


@pytest.mark.parametrize("path", rst_files(),
                         ids=lambda p: p.relative_to(DOCS).as_posix())
def test_rst_pages_show_no_literal_backticks(path):
    bad = literal_backticks(path.read_text(encoding="utf-8"))
    assert not bad, f"{path}: " + " | ".join(bad)


@pytest.mark.parametrize("name, rst, code", gallery_sources(),
                         ids=[g[0] for g in gallery_sources()])
def test_gallery_scripts(name, rst, code):
    found = internal_words(rst) + internal_words(code, "python")
    assert not found, f"{name}: {_report(found)}"
    bad = literal_backticks(rst)
    assert not bad, f"{name}: " + " | ".join(bad)


def test_docstrings():
    problems = []
    for name, doc in docstrings():
        found = internal_words(doc)
        if found:
            problems.append(f"{name}: {_report(found)}")
        bad = literal_backticks(doc)
        if bad:
            problems.append(f"{name}: " + " | ".join(bad))
    assert not problems, "\n".join(problems)


def test_docstrings_are_found():
    names = {name for name, _ in docstrings()}
    for expected in ("cfilter", "cfilter.correlate", "cfilter.match_template",
                     "cfilter.frequency_filter", "cfilter.kernels.gaussian",
                     "cfilter.kernels.Kernel", "cfilter.nn.conv2d",
                     "cfilter.FilterPlan"):
        assert expected in names


def test_command_line_help():
    for command, text in cli_help():
        found = internal_words(text, "plain")
        assert not found, f"{command}: {_report(found)}"


def test_generated_tables():
    text = generated_tables()
    assert not internal_words(text), _report(internal_words(text))
    assert not literal_backticks(text)


def test_readme():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", lambda m: code_text(m.group(0)[3:-3]), text,
                  flags=re.S)
    text = re.sub(r"`([^`]+)`", lambda m: code_text(m.group(1)), text)
    found = internal_words(text, "plain")
    assert not found, f"README.md: {_report(found)}"


# The checks themselves: each rule catches what it is for, and lets through
# what it allows.

@pytest.mark.parametrize("text", [
    "Seed 003 describes template search.",
    "This follows the seeds.",
    "DESIGN says nn is a client.",
    "see the DESIGN.md table",
    "as the design notes say",
    "the contract's §2 table",
    "fixed in issue 12",
    "measured after stop 3",
    "The team decided so.",
    ">>> x = 1  # the seed example",
    "Code::\n\n    print('as DESIGN says')\n",
])
def test_rule_catches_internal_words(text):
    assert internal_words(text)


@pytest.mark.parametrize("text", [
    ">>> rng = np.random.default_rng(seed)",
    ">>> images = [np.random.default_rng(seed).random((4, 4))\n"
    "...           for seed in range(8)]",
    "Pass ``seed=0`` to ``default_rng``.",
    "This build is slow by design.",
    "Issues are welcome; stop the run with Ctrl-C.",
])
def test_rule_allows_the_numpy_api_and_plain_english(text):
    assert not internal_words(text)


def test_rule_checks_python_comments_and_strings():
    assert internal_words("x = 1  # as in seed 003\n", "python")
    assert internal_words('print("DESIGN says")\n', "python")
    assert not internal_words("rng = np.random.default_rng(seed)\n", "python")


@pytest.mark.parametrize("text", [
    "**``frequency_filter`` on one thread** is fast.",
    "*the ``x`` option* matters.",
    "several ``Kernel``s at once",
    "the x``y`` join",
])
def test_rule_catches_literal_backticks(text):
    assert literal_backticks(text)


@pytest.mark.parametrize("text", [
    "**Bold** and ``literal`` side by side.",
    "A list (``a``, ``b``) and ``c``'s value: ``d``.",
    "**No** ``origin``: use padding.",
    "Code::\n\n    **``x``** in a literal block is shown as typed\n",
    ">>> print('``x``s')",
])
def test_rule_allows_well_formed_literals(text):
    assert not literal_backticks(text)
