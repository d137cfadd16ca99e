"""Write archive/script_fold.tsv: which characters count as the same across scripts.

`python tests/make_script_table.py` (needs the `opencc` package, a test dependency). OpenCC's
character conversions in every direction it knows (traditional↔simplified, Taiwan, Hong Kong) link
characters; the characters a chain of links joins form one class, and every member folds to the
class's simplified form. So 著 and 着 (著力 in Taiwan's script is 着力) are one class, as are 乾, 幹
and 干, and a phrase typed in either script finds the other. Only characters that change are listed.
The table is data made from OpenCC, checked against it by tests/test_normalize.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "archive" / "script_fold.tsv"
RANGES = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF)]
CONFIGS = ["t2s", "s2t", "s2tw", "tw2s", "s2hk", "hk2s", "t2tw", "t2hk"]


def build() -> dict[str, str]:
    import opencc

    converters = [opencc.OpenCC(config).convert for config in CONFIGS]
    to_simplified = opencc.OpenCC("t2s").convert
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        while parent.get(char, char) != char:
            parent[char] = parent.get(parent[char], parent[char])
            char = parent[char]
        return char

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for low, high in RANGES:
        for code in range(low, high + 1):
            char = chr(code)
            for convert in converters:
                other = convert(char)
                if len(other) == 1 and other != char:
                    union(char, other)
    members: dict[str, list[str]] = {}
    for char in set(parent) | set(parent.values()):
        members.setdefault(find(char), []).append(char)
    table: dict[str, str] = {}
    for group in members.values():
        simplified = sorted({to_simplified(c) for c in group})
        canonical = min((c for c in simplified if c in group), default=simplified[0])
        for char in group:
            if char != canonical:
                table[char] = canonical
    return table


def render(table: dict[str, str]) -> str:
    header = "# made by tests/make_script_table.py from OpenCC's conversions: character<TAB>its fold\n"
    return header + "".join(f"{char}\t{table[char]}\n" for char in sorted(table))


def main() -> None:
    OUT.write_text(render(build()), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
