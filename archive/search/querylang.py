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
EXAMPLES = {"speaker": "speaker:张三", "title": "title:营商环境", "year": "year:2020", "date": "date:2019-03..2021"}
MAX_DEPTH = 32  # parentheses nested deeper than this are refused: no query needs them, and they cost recursion
MAX_LENGTH = 2000  # characters in a query (a pasted paragraph is fine; a pasted book is not)


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
        self.depth = 0

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
        """NOT x, -x, and chains of them (NOT NOT x, --x): counted in a loop, not by recursion, so a
        query of 2,000 NOTs or 500 dashes is as cheap as one; an even count cancels out."""
        negations = 0
        while True:
            token = self.peek()
            if token == ("WORD", "NOT"):
                self.take()
                if self.peek() is None:
                    raise QueryError("NOT needs something after it")
                negations += 1
                continue
            if token is not None and token[0] == "WORD" and token[1].startswith("-") and token[1].strip("-"):
                dashes = len(token[1]) - len(token[1].lstrip("-"))
                self.tokens[self.index] = ("WORD", token[1][dashes:])
                negations += dashes
                continue
            break
        node = self.primary()
        return Not(node) if negations % 2 else node

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(f"parentheses nested too deeply (more than {MAX_DEPTH} levels): simplify the query")
            node = self.expression()
            if self.peek() is None or self.take()[0] != ")":
                raise QueryError("unbalanced parentheses in query")
            self.depth -= 1
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
                raise QueryError(f"{name}: needs a value, e.g. {EXAMPLES[name.lower()]}")
            return Field(name.lower(), rest)
        return Text(value, exact=False)


def parse(query: str) -> Node:
    """Parse a query; raises QueryError with a message that says how to fix it."""
    if len(query) > MAX_LENGTH:
        raise QueryError(f"query too long ({len(query)} characters; at most {MAX_LENGTH}): search for a shorter "
                         "passage, or use `archive check` for a whole draft")
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


