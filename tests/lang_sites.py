"""Every text trygghet shows a person, collected from the source with :mod:`ast` (for ``test_lang_messages``).

A *site* is where a message is made: the message of an error (every ``TrygghetError`` subclass, and a builtin
exception whose message is Swedish, e.g. a pydantic validator's ``ValueError`` that becomes a ``ConfigError``),
a note (``notes.append(…)``, ``notes += […]``, ``x.notes.append(…)``) or a progress text (``say(…)``,
``progress(…)``), and, transitively, the argument of a *helper* whose parameter reaches a site (``reading(
"läsa svaren")`` → ``guard(action)`` → ``translate(exc, action)`` → ``StoreError(f"Kan inte {action} …")``;
``require_columns(…, "bruttourvalet saknar kolumnerna {missing} …", …)``), plus the explicit sinks of
:data:`EXTRA_SINKS` (a quarantine reason stored in a frame).

A message expression becomes one or more *templates*: the text with ``{}`` for each value put in (f-string
fields, ``str.format`` fields ``{name!r}``, a non-literal operand of ``+``), ``{{``/``}}`` for a literal brace.
The value of a field is followed where the source shows it (a local or module name and its assignments,
``append``/``+=`` of a list, both arms of ``a if c else b`` and ``x or "inga"``, a dict literal's values under
``d[k]``/``d.get(k, default)``, the elements joined by ``", ".join(…)``, the returned texts of a function of
trygghet called in the field), and every text found that way is a *fragment* template too.

Call :func:`collect` for the sites and fragments; :func:`swedish_literals` lists every Swedish-looking string
literal of a package, for the check that nothing escapes the collector.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("survey", "reports", "flows")
# the language machinery itself (its Swedish texts are the keys of the catalogs)
SKIP_MODULES = ("survey/pipeline/i18n.py", "survey/pipeline/english/")
BASE_ERROR = "TrygghetError"
BUILTIN_ERRORS = {"ValueError", "TypeError", "KeyError", "RuntimeError", "LookupError", "Exception"}
NOTE_TARGETS = re.compile(r"(^|_)notes$")
# modules whose ``notes`` are not messages: a table's footnotes (English through reports.translate)
NOTE_SKIP = ("reports/tables.py",)
PROGRESS_CALLS = {"say", "progress"}
# (function, parameter): texts that travel through data to a person (a quarantine reason in a frame)
EXTRA_SINKS = {("failures", "reason")}
# methods of builtin types: never a call of a trygghet function of the same name
BUILTIN_METHODS = {
    "split",
    "rsplit",
    "upper",
    "lower",
    "title",
    "keys",
    "values",
    "items",
    "copy",
    "sum",
    "mean",
    "min",
    "max",
    "tolist",
    "astype",
    "unique",
    "to_numpy",
    "partition",
    "rpartition",
    "encode",
    "decode",
    "count",
    "index",
    "find",
    "startswith",
    "endswith",
    "pop",
    "setdefault",
    "update",
}
STR_METHODS = {"format", "replace", "strip", "lstrip", "rstrip", "removeprefix", "removesuffix", "capitalize"}

SWEDISH_LETTERS = re.compile(r"[åäöÅÄÖ]")
# common Swedish words without å, ä or ö (a message without them is Swedish all the same)
SWEDISH_WORDS = frozenset(
    """
    och eller inte med som har att kan ingen inga inget rad rader raden kolumn kolumnen kolumnerna filen
    filens saknar saknas finns ange men mellan till av ett den det detta fick ska skulle bara alla varje utan
    eftersom kalibreringen vikter vikterna svarande svaren skattningar skattningarna befolkning befolkningen
    databasen databas databasens sparas sparade sparad redan gjort steget steg fel hjälpvariabeln gick enkelt
    sina sitt sin deras inom vid ut upp ner igen hela annan andra annat samma sedan eller nytt ny nya
    kalibrering variansen varians bruttourvalet urvalet cellen celler cellerna marginalen marginalerna
    totalerna populationen populationsfilen befolkningsfilen svarsfilen leverantörens kodboken kodbok
    mappningen katalogen enkäten tabellen tabeller rapporten indikator indikatorn trendmodellen modellen
    modellmatrisen termen termer domänen domänerna replikat replikaten vara finns lika olika tecken textfil
    rubrikraden fält avgränsare avgränsaren citattecken tolkas avkortad trasig trasigt giltig giltigt ogiltig
    ogiltigt rimligt kod koder koden värdet värden gränsen gränserna talet heltal tal viktar publicerar
    skattar sparar kalibreringsblock konfigurationsfilen vyn schemat sekvensen funktionen tillbakadragen
    ersatts ersatt dragits tillbaka fler nu iterationer metod gammal cellvis skapa uppgradera databasrollerna
    databasschemat svarsfilen utkatalogen i
    """.split()  # noqa: SIM905 - a word list reads best as words
)
WORD = re.compile(r"\w+")  # a word or an identifier (q_1 is one token, not "q" and a Swedish-looking "1")
LETTER = re.compile(r"[^\W\d_]")
FIELD = re.compile(r"\{(?:[A-Za-z_][A-Za-z_0-9]*(?:\[[^\]{}]*\]|\.[A-Za-z_][A-Za-z_0-9]*)*)?(?:![rsa])?(?::[^{}]*)?\}")


def looks_swedish(text: str) -> bool:
    """Å, ä, ö or a common Swedish word."""
    if SWEDISH_LETTERS.search(text):
        return True
    return any(_swedish_word(w) for w in WORD.findall(text))


def _swedish_word(word: str) -> bool:
    """A common Swedish word (``i`` only in lower case: ``I/O`` is English)."""
    return word == "i" if word.lower() == "i" else word.lower() in SWEDISH_WORDS


def swedish_words(text: str, vocabulary: frozenset[str] = frozenset()) -> list[str]:
    """The Swedish-looking words of ``text``: with å, ä or ö, common Swedish words, or words of ``vocabulary``."""
    return [w for w in WORD.findall(text) if SWEDISH_LETTERS.search(w) or _swedish_word(w) or w.lower() in vocabulary]


def needs_english(template: str) -> bool:
    """A template a person reads in Swedish: Swedish-looking, or words (two or more) rather than a code value."""
    lit = literal_text(template)
    return looks_swedish(lit) or sum(1 for w in lit.split() if LETTER.search(w)) >= 2


def literal_text(template: str) -> str:
    """A template's literal text (fields removed, braces unescaped)."""
    return re.sub(r"(?<!\{)\{\}(?!\})", " ", template).replace("{{", "{").replace("}}", "}")


# --- templates ------------------------------------------------------------------------------------------------


@dataclass
class Piece:
    """A template under construction: literal texts and the expressions of its fields, in order."""

    parts: list[str | ast.expr] = field(default_factory=list)

    def template(self) -> str:
        out = []
        for p in self.parts:
            out.append("{}" if isinstance(p, ast.expr) else p.replace("{", "{{").replace("}", "}}"))
        return "".join(out)

    def fields(self) -> list[ast.expr]:
        return [p for p in self.parts if isinstance(p, ast.expr)]


def _constant_piece(text: str, node: ast.expr) -> Piece:
    """A string constant: ``str.format`` fields (``{value!r}``, ``{col}``) are fields of the template."""
    parts: list[str | ast.expr] = []
    pos = 0
    for m in FIELD.finditer(text):
        parts.append(text[pos : m.start()])
        parts.append(ast.Constant(value=None, lineno=getattr(node, "lineno", 0), col_offset=0))
        pos = m.end()
    parts.append(text[pos:])
    return Piece([p for p in parts if p != ""])


@dataclass
class Template:
    """A message template found in the source."""

    text: str
    path: str
    line: int
    kind: str  # "site" or "fragment"
    error: str | None = None  # the error class of a site (None: a note, a progress text, a helper's message)
    location: tuple[bool, bool, bool] = (False, False, False)  # InputError: file, row, column given
    fields: list[list[str]] = field(default_factory=list)  # per field: the fragment templates it may hold


@dataclass
class Module:
    path: str
    tree: ast.Module
    parents: dict[int, ast.AST]
    assigns: dict[tuple[int, str], list[ast.expr]]  # (scope id, name) → values assigned, appended, added


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    out: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def _scope(mod: Module, node: ast.AST) -> ast.AST:
    cur = mod.parents.get(id(node))
    while cur is not None and not isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)):
        cur = mod.parents.get(id(cur))
    return cur if cur is not None else mod.tree


def _scopes(mod: Module, node: ast.AST) -> Iterator[ast.AST]:
    cur: ast.AST | None = _scope(mod, node)
    while cur is not None:
        yield cur
        if isinstance(cur, ast.Module):
            return
        cur = _scope(mod, cur)


def _assignments(tree: ast.Module, parents: dict[int, ast.AST]) -> dict[tuple[int, str], list[ast.expr]]:
    mod = Module("", tree, parents, {})
    out: dict[tuple[int, str], list[ast.expr]] = {}

    def add(target: ast.expr, value: ast.expr, at: ast.AST) -> None:
        if isinstance(target, ast.Name):
            out.setdefault((id(_scope(mod, at)), target.id), []).append(value)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):  # d[k] = "…"
            out.setdefault((id(_scope(mod, at)), target.value.id), []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
            for t, v in zip(target.elts, value.elts):
                add(t, v, at)

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                add(t, node.value, node)
        elif (isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None) or isinstance(
            node, ast.NamedExpr
        ):
            add(node.target, node.value, node)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("append", "extend", "insert")
            and isinstance(node.func.value, ast.Name)
            and node.args
        ):
            add(node.func.value, node.args[-1], node)
    return out


def load_modules(packages: tuple[str, ...] = PACKAGES) -> list[Module]:
    mods = []
    for pkg in packages:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            rel = p.relative_to(ROOT).as_posix()
            if any(rel.startswith(s) for s in SKIP_MODULES):
                continue
            tree = ast.parse(p.read_text(encoding="utf-8"))
            parents = _parents(tree)
            mods.append(Module(rel, tree, parents, _assignments(tree, parents)))
    return mods


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def error_classes(mods: list[Module]) -> set[str]:
    """``TrygghetError`` and its subclasses, by name, anywhere in the packages."""
    bases: dict[str, set[str]] = {}
    for mod in mods:
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(n for b in node.bases if (n := _name(b)))
    found = {BASE_ERROR}
    while True:
        more = {c for c, bs in bases.items() if bs & found} - found
        if not more:
            return found
        found |= more


class Collector:
    """The sites and fragments of the packages (module docstring)."""

    def __init__(self, mods: list[Module]) -> None:
        self.mods = mods
        self.errors = error_classes(mods)
        self.functions: dict[str, list[tuple[Module, ast.FunctionDef | ast.AsyncFunctionDef]]] = {}
        for mod in mods:
            for node in ast.walk(mod.tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.functions.setdefault(node.name, []).append((mod, node))
        self.calls: dict[str, list[tuple[Module, ast.Call]]] = {}
        for mod in mods:
            for node in ast.walk(mod.tree):
                if isinstance(node, ast.Call) and (n := _name(node.func)):
                    self.calls.setdefault(n, []).append((mod, node))
        self.templates: dict[tuple[str, int, str, str], Template] = {}
        self.literal_ids: set[int] = set()  # every str constant / f-string that went into a template
        self.collected_ids: frozenset[int] = frozenset()
        self.joined: list[tuple[Module, ast.expr, int, frozenset[int]]] = []  # ", ".join(…) arguments met

    def _defs(self, mod: Module, func: ast.expr) -> list[tuple[Module, ast.FunctionDef | ast.AsyncFunctionDef]]:
        """The definitions a call may reach: the module's own function of that name, else the only one."""
        if isinstance(func, ast.Attribute) and func.attr in BUILTIN_METHODS:
            return []
        defs = self.functions.get(_name(func) or "", [])
        own = [(m, d) for m, d in defs if m is mod]
        return own or (defs if len(defs) == 1 else [])

    # -- values of names ---------------------------------------------------------------------------------------
    def _values(self, mod: Module, name: ast.Name) -> list[ast.expr] | None:
        for scope in _scopes(mod, name):
            vals = mod.assigns.get((id(scope), name.id))
            if vals:
                return vals
            if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = scope.args
                params = args.posonlyargs + args.args + args.kwonlyargs
                if any(a.arg == name.id for a in params):
                    return None  # a parameter: whatever the caller passes (see sinks)
        return None

    def pieces(self, mod: Module, node: ast.expr, depth: int = 0, seen: frozenset[int] = frozenset()) -> list[Piece]:
        """The texts an expression may evaluate to, as templates (``[Piece([node])]``, one field, when the
        source does not show them). A collection (list, dict, the elements ``join`` joins) stands for each of
        its texts; a call of a trygghet function for the texts it returns."""
        unknown = [Piece([node])]
        if depth > 8 or id(node) in seen:
            return unknown
        seen = seen | {id(node)}

        def sub(n: ast.expr) -> list[Piece]:
            return self.pieces(mod, n, depth + 1, seen)

        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.literal_ids.add(id(node))
            return [_constant_piece(node.value, node)]
        if isinstance(node, ast.JoinedStr):
            self.literal_ids.add(id(node))
            parts: list[str | ast.expr] = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append(str(v.value))
                elif isinstance(v, ast.FormattedValue):
                    parts.append(v.value)
            return [Piece(parts)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = sub(node.left), sub(node.right)
            if any(isinstance(n, (ast.List, ast.Tuple)) for n in (node.left, node.right)):
                return left + right  # list + list: the texts of both
            return [Piece(a.parts + b.parts) for a in left for b in right][:64]
        if isinstance(node, ast.IfExp):
            return sub(node.body) + sub(node.orelse)
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            return [p for v in node.values for p in sub(v)]
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [p for e in node.elts for p in sub(e) if p.parts != [e]] or unknown
        if isinstance(node, ast.Dict):
            return [p for e in node.values if e is not None for p in sub(e) if p.parts != [e]] or unknown
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return [p for p in sub(node.elt) if p.parts != [node.elt]] or unknown
        if isinstance(node, ast.Subscript):
            got = [p for p in sub(node.value) if p.parts != [node.value]]
            return got or unknown
        if isinstance(node, ast.Name):
            vals = self._values(mod, node)
            if vals:
                got = [p for v in vals for p in sub(v) if p.parts != [v]]
                return got or unknown
            return unknown
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in STR_METHODS:
                return sub(func.value)
            if isinstance(func, ast.Attribute) and func.attr == "get":
                got = [p for p in sub(func.value) if p.parts != [func.value]]
                got += [p for a in node.args[1:] for p in sub(a) if p.parts != [a]]
                return got or unknown
            if isinstance(func, ast.Attribute) and func.attr == "join" and node.args:
                # the joined texts are each a text of their own (fragments); the joined whole is a field
                self.joined.append((mod, node.args[0], depth, seen))
                return unknown
            got = []
            for fmod, fdef in self._defs(mod, func):
                for ret in ast.walk(fdef):
                    if isinstance(ret, ast.Return) and ret.value is not None and _scope(fmod, ret) is fdef:
                        got += [p for p in self.pieces(fmod, ret.value, depth + 1, seen) if p.parts != [ret.value]]
            return got or unknown
        return unknown

    def record(
        self,
        mod: Module,
        node: ast.expr,
        kind: str,
        error: str | None,
        location: tuple[bool, bool, bool],
        line: int,
        seen: frozenset[int] = frozenset(),
    ) -> list[str]:
        """Record the templates of ``node`` (and, as fragments, of their fields); returns their texts."""
        texts = []
        for piece in self.pieces(mod, node, seen=seen):
            text = piece.template()
            if not literal_text(text).strip():  # "{}" or "{}{}": the fields' texts are the messages
                for f in piece.fields():
                    if f is not node:
                        texts += self.record(mod, f, kind, error, location, line, seen | {id(node)})
                continue
            key = (mod.path, line, kind, text)
            texts.append(text)
            if key in self.templates:
                continue
            tpl = Template(text, mod.path, line, kind, error, location)
            self.templates[key] = tpl
            tpl.fields = [self.field_texts(mod, f, seen | {id(node)}) for f in piece.fields()]
        return texts

    def field_texts(self, mod: Module, node: ast.expr, seen: frozenset[int]) -> list[str]:
        """The fragment templates a field may hold (recorded), the joined elements of ``", ".join(…)`` too."""
        if id(node) in seen or len(seen) > 12:
            return []
        before = len(self.joined)
        texts = self.record(mod, node, "fragment", None, (False, False, False), getattr(node, "lineno", 0), seen)
        joined, self.joined = self.joined[before:], self.joined[:before]
        for jmod, arg, _depth, jseen in joined:
            texts += self.field_texts(jmod, arg, seen | jseen)
        return texts

    # -- sites -------------------------------------------------------------------------------------------------
    def site(self, mod: Module, call: ast.AST, message: ast.expr, error: str | None) -> None:
        location = (False, False, False)
        if error == "InputError" and isinstance(call, ast.Call):
            kw = {k.arg for k in call.keywords}
            location = (
                len(call.args) > 1 or "file" in kw,
                len(call.args) > 2 or "row" in kw,
                len(call.args) > 3 or "column" in kw,
            )
        before = len(self.joined)
        self.record(mod, message, "site", error, location, message.lineno)
        joined, self.joined = self.joined[before:], self.joined[:before]
        for jmod, arg, _depth, jseen in joined:
            self.field_texts(jmod, arg, jseen)

    def direct_sites(self, mod: Module) -> Iterator[tuple[ast.AST, ast.expr, str | None]]:
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Call):
                name = _name(node.func)
                msg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "message"), None)
                if msg is None:
                    continue
                if name in self.errors:
                    yield node, msg, name
                elif name in BUILTIN_ERRORS and isinstance(mod.parents.get(id(node)), ast.Raise):
                    if any(looks_swedish(literal_text(p.template())) for p in self.pieces(mod, msg)):
                        yield node, msg, name
                elif name in ("append", "extend") and isinstance(node.func, ast.Attribute):
                    target = _name(node.func.value)
                    if target and NOTE_TARGETS.search(target) and not mod.path.startswith(NOTE_SKIP):
                        yield node, msg, None
                elif isinstance(node.func, ast.Name) and name in PROGRESS_CALLS and len(node.args) == 1:
                    yield node, msg, None
            elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
                target = _name(node.target)
                if target and NOTE_TARGETS.search(target) and not mod.path.startswith(NOTE_SKIP):
                    yield node, node.value, None

    def collect(self) -> list[Template]:
        pending: list[tuple[Module, ast.AST, ast.expr, str | None]] = []
        for mod in self.mods:
            pending += [(mod, c, m, e) for c, m, e in self.direct_sites(mod)]
        sinks: set[tuple[str, str]] = set(EXTRA_SINKS)
        done: set[tuple[str, str]] = set()
        while True:
            for mod, call, msg, err in pending:
                self.site(mod, call, msg, err)
                sinks |= self._sinks_of(mod, msg)
            pending = []
            for fname, param in sorted(sinks - done):
                done.add((fname, param))
                pending += self._sink_arguments(fname, param)
            if not pending:
                break
        self.collected_ids = frozenset(self.literal_ids)  # the literals of the collected templates
        return sorted(self.templates.values(), key=lambda t: (t.path, t.line, t.text))

    def _sinks_of(self, mod: Module, msg: ast.expr, depth: int = 0) -> set[tuple[str, str]]:
        """(function, parameter) pairs whose parameter is the message ``msg`` or a field of it, or of a text
        it holds (after following local names): the caller's argument is then a text of the message."""
        out: set[tuple[str, str]] = set()
        if depth > 4:
            return out
        for piece in self.pieces(mod, msg):
            for f in piece.fields():
                if isinstance(f, ast.Name) and self._values(mod, f) is None:
                    for scope in _scopes(mod, f):
                        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            params = scope.args.posonlyargs + scope.args.args + scope.args.kwonlyargs
                            if any(a.arg == f.id for a in params):
                                out.add((scope.name, f.id))
                                break
                elif f is not msg:
                    out |= self._sinks_of(mod, f, depth + 1)
        return out

    def _sink_arguments(self, fname: str, param: str) -> list[tuple[Module, ast.AST, ast.expr, str | None]]:
        out: list[tuple[Module, ast.AST, ast.expr, str | None]] = []
        for fmod, fdef in self.functions.get(fname, []):
            args = fdef.args
            positional = [a.arg for a in args.posonlyargs + args.args]
            if param not in positional + [a.arg for a in args.kwonlyargs]:
                continue
            defaults = dict(zip(positional[len(positional) - len(args.defaults) :], args.defaults))
            defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
            if param in defaults:
                out.append((fmod, fdef, defaults[param], None))
        for mod, node in self.calls.get(fname, []):
            for fdef in (d for _m, d in self.functions.get(fname, [])):
                positional = [a.arg for a in fdef.args.posonlyargs + fdef.args.args]
                if isinstance(node.func, ast.Attribute) and positional[:1] in (["self"], ["cls"]):
                    positional = positional[1:]
                arg = next((k.value for k in node.keywords if k.arg == param), None)
                if arg is None and param in positional and positional.index(param) < len(node.args):
                    arg = node.args[positional.index(param)]
                    if isinstance(arg, ast.Starred):
                        arg = None
                if arg is not None:
                    out.append((mod, node, arg, None))
                    break
        return out


def collect(packages: tuple[str, ...] = PACKAGES) -> tuple[list[Template], set[int], list[Module]]:
    """The templates of every site and fragment, the ids of the literals they came from, and the modules."""
    mods = load_modules(packages)
    c = Collector(mods)
    return c.collect(), c.literal_ids, mods


def docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body:
            first = n.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def swedish_literals(mod: Module) -> Iterator[tuple[ast.expr, str]]:
    """Every Swedish-looking str constant or f-string of a module outside docstrings (an f-string's own
    literal parts are part of it, not literals of their own)."""
    skip = docstring_ids(mod.tree)
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.JoinedStr):
            skip |= {id(v) for v in node.values if isinstance(v, ast.Constant)}
            skip |= {id(v.format_spec) for v in node.values if isinstance(v, ast.FormattedValue) and v.format_spec}
    for node in ast.walk(mod.tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        else:
            continue
        if looks_swedish(text):
            yield node, text


# keyword arguments whose Swedish texts are not messages of the library: Typer's --help (i18n.HELP_EN) and the run
# configuration's descriptions (their English half is the English help)
TEXT_KEYWORDS = ("help", "description")


def _in_keyword(mod: Module, node: ast.AST) -> bool:
    cur = mod.parents.get(id(node))
    while cur is not None and not isinstance(cur, ast.stmt):
        if isinstance(cur, ast.keyword) and cur.arg in TEXT_KEYWORDS:
            return True
        cur = mod.parents.get(id(cur))
    return False


def _outer(mod: Module, node: ast.expr) -> ast.expr:
    """The whole string expression a literal is part of (``"a " + x + " b"``, ``(… if c else "")`` in it)."""
    cur: ast.expr = node
    while True:
        up = mod.parents.get(id(cur))
        joined = isinstance(up, ast.BinOp) and isinstance(up.op, ast.Add)
        chosen = isinstance(up, ast.IfExp) and cur is not up.test and isinstance(mod.parents.get(id(up)), ast.BinOp)
        if joined or chosen:
            assert up is not None
            cur = up
        else:
            return cur


@dataclass
class Leftover:
    """A Swedish-looking literal no site reaches, with the templates of the expression it is part of."""

    path: str
    line: int
    text: str
    templates: list[str]


def leftovers(collector: Collector, packages: tuple[str, ...] = ("survey",)) -> list[Leftover]:
    """The Swedish-looking literals of ``packages`` outside docstrings, ``help=``/``description=`` texts and the
    collected templates."""
    out = []
    for mod in collector.mods:
        if not mod.path.startswith(packages):
            continue
        for node, text in swedish_literals(mod):
            if id(node) in collector.collected_ids or _in_keyword(mod, node):
                continue
            if not re.search(r"\s", text) and not SWEDISH_LETTERS.search(text):
                continue  # one token without å, ä, ö: a code value (an einsum subscript, a column name)
            pieces = collector.pieces(mod, _outer(mod, node))
            out.append(Leftover(mod.path, node.lineno, text, sorted({p.template() for p in pieces})))
    return out


def collect_source(path: str, source: str) -> list[Template]:
    """The templates of one module given as text (with survey/errors.py for the error classes), for a test of the
    collector itself."""
    mods = []
    for rel, text in (
        ("survey/errors.py", (ROOT / "survey" / "errors.py").read_text(encoding="utf-8")),
        (path, source),
    ):
        tree = ast.parse(text)
        parents = _parents(tree)
        mods.append(Module(rel, tree, parents, _assignments(tree, parents)))
    return [t for t in Collector(mods).collect() if t.path == path]
