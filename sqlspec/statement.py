"""Placeholder rewriting and parameter binding.

Users may write placeholders in any of these styles, whatever the driver:

* ``?``            qmark
* ``:name``        named
* ``$1``           numeric (1-based)
* ``%s``           format
* ``%(name)s``     pyformat

:func:`prepare` rewrites the SQL text to the driver's native *positional* style
(:class:`ParamStyle`), leaving string literals, quoted identifiers, comments and
dollar-quoted bodies untouched as the statement's database reads them (:class:`Dialect`),
and returns an immutable :class:`PreparedStatement` whose :meth:`~PreparedStatement.bind`
turns user parameters into the sequence the driver expects.

``prepare`` is cached; ``bind`` for positional parameters already in the right order
(the common case) returns its argument unchanged.

Note for FORMAT drivers (psycopg, asyncmy): the rewritten SQL has every literal ``%`` doubled,
so the driver must always run ``%``-formatting on it, i.e. always pass the bound parameters,
even when they are an empty tuple (never ``None``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Any, Protocol

from sqlspec._writes import writes
from sqlspec.exceptions import ParameterError

__all__ = ("Dialect", "ParamStyle", "PreparedStatement", "prepare")


class ParamStyle(str, Enum):
    """The native positional placeholder style of a driver."""

    QMARK = "qmark"  # ?        (sqlite3, duckdb, aiosqlite)
    NUMERIC = "numeric"  # $1, $2   (asyncpg)
    FORMAT = "format"  # %s       (psycopg, asyncmy)

    # Hash as the str value on every supported Python (C-level, cheap for the ``prepare`` cache
    # key; consistent with members comparing equal to their value).
    __hash__ = str.__hash__


class Dialect(str, Enum):
    """The SQL dialect a statement is lexed by: which quotes, comments and brackets hide
    placeholder-like text, as the database itself reads them."""

    POSTGRES = "postgres"
    """``E'...'`` strings, ``"..."`` identifiers, nesting ``/* */`` comments, ``$tag$`` quoting."""
    SQLITE = "sqlite"
    """``"..."``, ```...``` and ``[...]`` identifiers, non-nesting ``/* */`` comments."""
    DUCKDB = "duckdb"
    """PostgreSQL's rules plus ```...``` identifiers; ``[...]`` is a list (placeholders count)."""
    MYSQL = "mysql"
    """Backslash escapes in ``'...'`` and ``"..."`` (both strings), ```...``` identifiers,
    ``#`` comments, ``--`` comments only before whitespace, non-nesting ``/* */`` comments."""

    __hash__ = str.__hash__


_SQL_IN_MESSAGE = 120
_NOT_SEQUENCE = (str, bytes, bytearray, memoryview)


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    if len(text) > _SQL_IN_MESSAGE:
        return text[: _SQL_IN_MESSAGE - 3] + "..."
    return text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _names_list(names: Sequence[str]) -> str:
    return ", ".join(f":{name}" for name in names)


def _keys_list(keys: Any) -> str:
    shown = [str(key) for key in islice(keys, 21)]
    text = ", ".join(shown[:20])
    if len(shown) > 20:
        text += ", ..."
    return text or "none"


def _make_picker(order: tuple[Any, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A callable taking the user's parameters and returning the values in ``order``."""
    if not order:
        return lambda params: ()
    if len(order) == 1:
        key = order[0]
        return lambda params: (params[key],)
    getter: Callable[[Any], tuple[Any, ...]] = itemgetter(*order)
    return getter


@dataclass(frozen=True, slots=True)
class PreparedStatement:
    """A statement rewritten to a driver's placeholder style, able to bind parameters.

    Attributes:
        sql: The rewritten SQL, in the target style.
        source: The SQL as given.
        order: For each native placeholder value, the input index (positional input) or the
            name (named input) it takes its value from.
        named: The input SQL used named placeholders (``:name`` or ``%(name)s``).
        expected: Positional input: the number of values expected. Named input: the number of
            distinct names.
        identity: Positional input whose ``order`` is exactly ``(0, 1, ..., n - 1)``: ``bind``
            may pass the parameters through unchanged.
        writes: The statement changes data or schema (INSERT, UPDATE, DELETE, DDL...), as read
            from its leading keyword (see :func:`sqlspec._writes.writes`); a hint for logs.
    """

    sql: str
    source: str
    order: tuple[int, ...] | tuple[str, ...]
    named: bool
    expected: int
    identity: bool
    # Precomputed for bind: the length a tuple/list must have to go to the driver unchanged
    # (-1: never; also read by the drivers' fast path), the distinct names (named input) and
    # the value picker.
    direct_length: int = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _pick: Callable[[Any], tuple[Any, ...]] = field(init=False, repr=False, compare=False)
    writes: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fast_len = self.expected if self.identity and self.expected > 0 else -1
        names: tuple[str, ...] = ()
        if self.named:
            names = tuple(dict.fromkeys(self.order))  # type: ignore[arg-type]
        object.__setattr__(self, "direct_length", fast_len)
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_pick", _make_picker(self.order))
        object.__setattr__(self, "writes", writes(self.source))

    def bind(self, params: Sequence[Any] | Mapping[str, Any] | None) -> Sequence[Any]:
        """Return the parameter values in the order the rewritten SQL expects them.

        Positional parameters that are already in order (a tuple or list of the expected
        length) are returned unchanged. Raises :class:`ParameterError` when the parameters do
        not match the placeholders.
        """
        cls = params.__class__
        if cls is tuple or cls is list:
            size = len(params)  # type: ignore[arg-type]
            if size == self.direct_length:
                return params  # type: ignore[return-value]
            if size == self.expected and size and not self.named:
                return self._pick(params)
        elif cls is dict and self.named:
            try:
                return self._pick(params)
            except KeyError:
                pass  # reported by _bind_named
        if self.named:
            return self._bind_named(params)
        return self._bind_positional(params)

    def bind_many(
        self, rows: Iterable[Sequence[Any] | Mapping[str, Any]]
    ) -> Sequence[Sequence[Any]]:
        """Bind every row of an ``execute_many`` call; errors name the offending row."""
        if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
            raise ParameterError(
                "execute_many() takes a sequence of parameter rows (tuples, lists or dicts), "
                f"got {type(rows).__name__}: {_short(self.source)}"
            )
        fast_len = self.direct_length
        if isinstance(rows, list) and fast_len > 0:
            # Rows already in the driver's order pass through untouched (the common case).
            for row in rows:
                cls = row.__class__
                if (cls is not tuple and cls is not list) or len(row) != fast_len:
                    break
            else:
                return rows
        bound: list[Sequence[Any]] = []
        bind = self.bind
        for index, row in enumerate(rows):
            try:
                bound.append(bind(row))
            except ParameterError as error:
                raise ParameterError(f"row {index}: {error}") from None
        return bound

    @classmethod
    def passthrough(cls, sql: str, style: ParamStyle) -> PreparedStatement:
        """A statement sent to the driver as written, with parameters as given."""
        return _passthrough(sql, style)

    def _bind_positional(self, params: Any) -> Sequence[Any]:
        expected = self.expected
        if params is None:
            if expected == 0:
                return ()
            raise ParameterError(
                f"statement expects {_plural(expected, 'positional parameter')}, got none: "
                f"{_short(self.source)}"
            )
        if expected == 0:
            if isinstance(params, (Mapping, Sequence)) and not isinstance(params, _NOT_SEQUENCE):
                if len(params) == 0:
                    return ()
                raise ParameterError(
                    f"statement has no parameters, got {len(params)}: {_short(self.source)}"
                )
            raise ParameterError(
                "statement has no parameters, expected None or an empty sequence, "
                f"got {type(params).__name__}: {_short(self.source)}"
            )
        if isinstance(params, Mapping):
            raise ParameterError(
                "statement uses positional placeholders but got a mapping; pass a sequence of "
                f"{_plural(expected, 'value')}: {_short(self.source)}"
            )
        if isinstance(params, _NOT_SEQUENCE) or not isinstance(params, Sequence):
            raise ParameterError(
                f"statement expects {_plural(expected, 'positional parameter')} as a sequence "
                f"(tuple or list), got {type(params).__name__}: {_short(self.source)}"
            )
        if len(params) != expected:
            raise ParameterError(
                f"statement expects {_plural(expected, 'positional parameter')}, "
                f"got {len(params)}: {_short(self.source)}"
            )
        if self.identity:  # a Sequence other than tuple or list
            return tuple(params)
        return self._pick(params)

    def _bind_named(self, params: Any) -> Sequence[Any]:
        if not isinstance(params, Mapping):
            names = _names_list(self._names)
            if params is None:
                raise ParameterError(
                    f"statement expects named parameters {names}, got none: {_short(self.source)}"
                )
            if isinstance(params, Sequence) and not isinstance(params, _NOT_SEQUENCE):
                raise ParameterError(
                    "statement uses named placeholders (:name / %(name)s) but got a sequence; "
                    f"pass a mapping with keys {names}: {_short(self.source)}"
                )
            raise ParameterError(
                f"statement expects named parameters {names} as a mapping, "
                f"got {type(params).__name__}: {_short(self.source)}"
            )
        missing = [name for name in self._names if name not in params]
        if not missing:
            return self._pick(params)
        raise ParameterError(
            f"statement expects named parameters {_names_list(self._names)}; "
            f"missing: {', '.join(missing)} (given: {_keys_list(params)}): {_short(self.source)}"
        )


# --------------------------------------------------------------------------------------------
# Lexer
#
# One compiled alternation, applied with ``search`` from a moving position. Regions copied
# verbatim (no placeholder detection) are matched whole, except nested block comments and
# dollar-quoted bodies whose ends are found by hand. An identifier character is ``\w`` or ``$``.

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_PLACEHOLDERS = rf"""
  | (?P<qmark>\?)
  | (?P<colons>::+)
  | :(?P<name>{_IDENT})
  | %(?:(?P<fmt>s)|\((?P<pyname>{_IDENT})\)s)
  | (?P<pct>%%?)
"""

_E_STRING = r"(?<![\w$])[Ee]'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'?"  # E'...': backslash escapes
_STRING = r"'[^']*(?:''[^']*)*'?"  # '...': '' doubling
_QUOTED_NAME = r'"[^"]*(?:""[^"]*)*"?'  # "...": quoted identifier
_BACKTICK_NAME = r"`[^`]*(?:``[^`]*)*`?"  # `...`: quoted identifier
_BRACKET_NAME = r"\[[^\]]*\]?"  # [...]: quoted identifier (SQLite)
_LINE_COMMENT = r"--[^\n]*"
_FLAT_BLOCK_COMMENT = r"/\*.*?(?:\*/|\Z)"  # ends at the first */
_MYSQL_STRING = r"'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'?"
_MYSQL_DOUBLE_STRING = r'"[^"\\]*(?:(?:\\.|"")[^"\\]*)*"?'
_MYSQL_LINE_COMMENTS = r"\#[^\n]*|--(?=\s|\Z)[^\n]*"
_NESTING_BLOCK = r"(?P<block>/\*)"  # ends found by _block_comment_end
_DOLLAR = r"(?<![\w$])\$(?:(?P<num>\d+)|(?P<dollar>(?:[A-Za-z_][A-Za-z0-9_]*)?\$))"
_NUMBERED = r"(?<![\w$])\$(?P<num>\d+)"


def _lexer(skipped: Sequence[str], *special: str) -> re.Pattern[str]:
    alternatives = [f"(?P<skip>{'|'.join(skipped)})", *special]
    return re.compile("|".join(alternatives) + _PLACEHOLDERS, re.VERBOSE | re.DOTALL)


_LEXERS: dict[Dialect, re.Pattern[str]] = {
    Dialect.POSTGRES: _lexer(
        (_E_STRING, _STRING, _QUOTED_NAME, _LINE_COMMENT), _NESTING_BLOCK, _DOLLAR
    ),
    Dialect.DUCKDB: _lexer(
        (_E_STRING, _STRING, _QUOTED_NAME, _BACKTICK_NAME, _LINE_COMMENT), _NESTING_BLOCK, _DOLLAR
    ),
    Dialect.SQLITE: _lexer(
        (_STRING, _QUOTED_NAME, _BACKTICK_NAME, _BRACKET_NAME, _LINE_COMMENT, _FLAT_BLOCK_COMMENT),
        _NUMBERED,
    ),
    Dialect.MYSQL: _lexer(
        (
            _MYSQL_STRING,
            _MYSQL_DOUBLE_STRING,
            _BACKTICK_NAME,
            _MYSQL_LINE_COMMENTS,
            _FLAT_BLOCK_COMMENT,
        ),
        _NUMBERED,
    ),
}


def _block_comment_end(sql: str, pos: int) -> int:
    """End of a PostgreSQL (nesting) block comment whose opening ``/*`` ends at ``pos``."""
    depth = 1
    find = sql.find
    while True:
        close = find("*/", pos)
        if close < 0:
            return len(sql)
        opening = find("/*", pos, close + 1)  # a "/*" may share its "*" with "*/"
        if opening >= 0:
            depth += 1
            pos = opening + 2
        else:
            depth -= 1
            pos = close + 2
            if depth == 0:
                return pos


_KIND_LABEL = {
    "qmark": "?",
    "fmt": "%s",
    "num": "$n",
    "name": ":name",
    "pyname": "%(name)s",
}
_NAMED_KINDS = frozenset(("name", "pyname"))


def _prepare(sql: str, style: ParamStyle, dialect: Dialect = Dialect.POSTGRES) -> PreparedStatement:
    """Rewrite ``sql`` to the positional placeholder ``style`` of a driver (cached).

    Placeholders are found by the rules of ``dialect`` (see :class:`Dialect`): text inside its
    string literals, quoted identifiers and comments is copied as it is.

    Raises :class:`ParameterError` when the statement mixes placeholder styles or its ``$n``
    numbering has gaps.
    """
    style = ParamStyle(style)
    fmt = style is ParamStyle.FORMAT
    numeric = style is ParamStyle.NUMERIC
    marker = "%s" if fmt else "?"
    search = _LEXERS[Dialect(dialect)].search

    out: list[str] = []
    emit = out.append
    order: list[Any] = []
    distinct: dict[str, int] = {}  # named input: name -> 1-based native number (NUMERIC)
    kind: str | None = None
    top = 0  # numeric input: highest $n
    pos = 0  # where the lexer resumes
    copied = 0  # sql[:copied] is already in out

    while True:
        m = search(sql, pos)
        if m is None:
            break
        group = m.lastgroup
        start, end = m.span()

        if group == "skip" or group == "block" or group == "dollar":
            if group == "block":
                end = _block_comment_end(sql, end)
            elif group == "dollar":
                delimiter = "$" + m.group("dollar")
                close = sql.find(delimiter, end)
                end = len(sql) if close < 0 else close + len(delimiter)
            if fmt and "%" in sql[start:end]:
                emit(sql[copied:start])
                emit(sql[start:end].replace("%", "%%"))
                copied = end
            pos = end
            continue
        if group == "colons":
            pos = end
            continue

        emit(sql[copied:start])
        copied = pos = end
        if group == "pct":
            emit("%%" if fmt else "%")
            continue

        # A placeholder.
        assert group is not None
        if kind is None:
            kind = group
        elif kind != group and not (kind in _NAMED_KINDS and group in _NAMED_KINDS):
            raise ParameterError(
                f"statement mixes placeholder styles {_KIND_LABEL[kind]} and "
                f"{_KIND_LABEL[group]}: {_short(sql)}"
            )
        if group == "qmark" or group == "fmt":
            order.append(len(order))
            emit(f"${len(order)}" if numeric else marker)
        elif group == "num":
            number = int(m.group("num"))
            if number == 0:
                raise ParameterError(
                    f"placeholder $0 is invalid, numbering starts at $1: {_short(sql)}"
                )
            top = max(top, number)
            order.append(number - 1)
            emit(f"${number}" if numeric else marker)
        else:
            name = m.group(group)
            if numeric:
                number = distinct.get(name, 0)
                if not number:
                    number = distinct[name] = len(distinct) + 1
                emit(f"${number}")
            else:
                distinct.setdefault(name, 0)
                emit(marker)
            order.append(name)

    emit(sql[copied:])
    rewritten = "".join(out)

    named = kind in _NAMED_KINDS
    if named:
        expected = len(distinct)
        final: tuple[Any, ...] = tuple(distinct) if numeric else tuple(order)
    elif kind == "num":
        expected = top
        used = set(order)
        if len(used) != top:
            unused = min(set(range(top)) - used) + 1
            raise ParameterError(f"parameter ${unused} is never used: {_short(sql)}")
        final = tuple(range(top)) if numeric else tuple(order)
    else:
        expected = len(order)
        final = tuple(order)

    return PreparedStatement(
        sql=rewritten,
        source=sql,
        order=final,
        named=named,
        expected=expected,
        identity=not named and final == tuple(range(expected)),
    )


class _CachedPrepare(Protocol):
    """The signature of :func:`prepare` (``lru_cache`` erases it for type checkers)."""

    def __call__(
        self, sql: str, style: ParamStyle, dialect: Dialect = Dialect.POSTGRES
    ) -> PreparedStatement: ...

    def cache_info(self) -> Any: ...

    def cache_clear(self) -> None: ...


prepare: _CachedPrepare = lru_cache(maxsize=4096)(_prepare)


class _Passthrough(PreparedStatement):
    """A statement whose text and parameters go to the driver untouched
    (``StatementConfig(rewrite_parameters=False)``)."""

    __slots__ = ()

    def bind(self, params: Sequence[Any] | Mapping[str, Any] | None) -> Any:
        return () if params is None else params

    def bind_many(self, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> Any:
        return rows if isinstance(rows, list) else list(rows)


class _FormatPassthrough(_Passthrough):
    """Passthrough for FORMAT drivers: no parameters is ``None``, so the driver does not read
    the text's ``%`` signs as placeholders."""

    __slots__ = ()

    def bind(self, params: Sequence[Any] | Mapping[str, Any] | None) -> Any:
        return params


@lru_cache(maxsize=256)
def _passthrough(sql: str, style: ParamStyle) -> PreparedStatement:
    cls = _FormatPassthrough if style is ParamStyle.FORMAT else _Passthrough
    return cls(sql=sql, source=sql, order=(), named=False, expected=0, identity=True)
