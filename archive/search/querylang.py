"""The query language, parsed into a small tree (no whoosh here).

    "务实奉献"          exactly that text
    务实奉献            exact matches first, then documents holding all its words
    a b                 both;  a OR b  either;  NOT a / -a  without
    speaker:张三  title:…  year:2020  date:2020-01-01..2020-06-30   metadata filters
    ( … )               grouping
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archive.errors import QueryError

FIELDS = ("speaker", "title", "year", "date")


@dataclass(frozen=True)
class Text:
    value: str
    exact: bool  # quoted


@dataclass(frozen=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Text | Field | Not | And | Or

_QUOTES = {'"': '"', "“": "”", "”": "”", "「": "」", "＂": "＂"}
_TOKEN = re.compile(
    r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<quote>["“”「＂])|(?P<word>[^\s()"“”「＂]+))'
)


def _lex(query: str) -> list[tuple[str, str]]:
    """Tokens as (kind, value): ( ) PHRASE WORD; `field:"a b"` stays one WORD with its phrase."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if not match:
            break
        if match.group("open"):
            tokens.append(("(", "("))
        elif match.group("close"):
            tokens.append((")", ")"))
        elif match.group("quote"):
            closing = _QUOTES[match.group("quote")]
            end = query.find(closing, match.end())
            if end < 0:
                raise QueryError(f"unclosed quote in query: {query!r}; close it with {closing}")
            tokens.append(("PHRASE", query[match.end() : end]))
            position = end + 1
            continue
        else:
            word = match.group("word")
            # field:"quoted value"
            if word.endswith(":") and match.end() < len(query) and query[match.end()] in _QUOTES:
                closing = _QUOTES[query[match.end()]]
                end = query.find(closing, match.end() + 1)
                if end < 0:
                    raise QueryError(f"unclosed quote in query: {query!r}; close it with {closing}")
                tokens.append(("WORD", word + query[match.end() + 1 : end]))
                position = end + 1
                continue
            if word == "-" and match.end() < len(query) and (query[match.end()] in _QUOTES or query[match.end()] == "("):
                word = "NOT"  # -"phrase" and -(group)
            tokens.append(("WORD", word))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expression(self) -> Node:
        items = [self.conjunction()]
        while self.peek() == ("WORD", "OR"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Node:
        items: list[Node] = []
        while (token := self.peek()) is not None and token[0] != ")" and token != ("WORD", "OR"):
            if token == ("WORD", "AND"):
                self.take()
                continue
            items.append(self.unary())
        if not items:
            raise QueryError("empty query part: put search words around OR and inside parentheses")
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        kind, value = self.peek()  # type: ignore[misc]
        if (kind, value) == ("WORD", "NOT"):
            self.take()
            if self.peek() is None:
                raise QueryError("NOT needs something after it")
            return Not(self.unary())
        if kind == "WORD" and value.startswith("-") and len(value) > 1:
            self.take()
            self.tokens.insert(self.index, ("WORD", value[1:]))
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "(":
            node = self.expression()
            if self.peek() is None or self.take()[0] != ")":
                raise QueryError("unbalanced parentheses in query")
            return node
        if kind == ")":
            raise QueryError("unbalanced parentheses in query")
        if kind == "PHRASE":
            if not value.strip():
                raise QueryError('empty quotes in query: put the exact text between ""')
            return Text(value, exact=True)
        name, colon, rest = value.partition(":")
        if colon and name.lower() in FIELDS:
            if not rest:
                raise QueryError(f"{name}: needs a value, e.g. {name}:2020")
            return Field(name.lower(), rest)
        return Text(value, exact=False)


def parse(query: str) -> Node:
    """Parse a query; raises QueryError with a message that says how to fix it."""
    tokens = _lex(query)
    if not tokens:
        raise QueryError("empty query: give a phrase, e.g. \"务实奉献\"")
    parser = _Parser(tokens)
    node = parser.expression()
    if parser.peek() is not None:
        raise QueryError("unbalanced parentheses in query")
    return node


def text_terms(node: Node, *, positive: bool = True) -> list[Text]:
    """The Text nodes that a match must show (those not under NOT): what passages highlight."""
    if isinstance(node, Text):
        return [node] if positive else []
    if isinstance(node, Not):
        return text_terms(node.item, positive=not positive)
    if isinstance(node, (And, Or)):
        return [t for item in node.items for t in text_terms(item, positive=positive)]
    return []


