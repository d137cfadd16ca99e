"""archive.dictionary: jieba's dictionary held compactly cuts exactly as jieba does."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import jieba
import pytest

from archive import dictionary, tokens
from tests.factory import speech

SEED = Path(__file__).resolve().parents[1] / "tests" / "data"


@pytest.fixture(scope="module")
def jieba_itself() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def test_every_key_and_frequency_is_jiebas(jieba_itself: jieba.Tokenizer) -> None:
    compact = tokens._jieba()
    assert compact.total == jieba_itself.total
    assert len(compact.FREQ) == len(jieba_itself.FREQ)
    assert all(compact.FREQ.get(key) == value for key, value in jieba_itself.FREQ.items())
    assert "不在词典里的一串字" not in compact.FREQ and compact.FREQ.get("不在词典里的一串字") is None
    with pytest.raises(KeyError):
        compact.FREQ["不在词典里的一串字"]


def test_cuts_as_jieba_does(jieba_itself: jieba.Tokenizer) -> None:
    rng = random.Random(11)
    texts = ["统筹乡村振兴标准体系", "扎实推进高质量发展", "马克思主义中国化时代化", "2024年GDP增长5.2%，CPU与AI",
             "乒乓球拍卖完了", "南京市长江大桥", "深入推进营商环境优化提升行动"]
    texts += [" ".join(speech(rng, 600, vocabulary).lines()) for vocabulary in ("office", "varied") for _ in range(3)]
    texts += [path.read_text(encoding="utf-8", errors="ignore")[:20_000] for path in sorted(SEED.rglob("*.txt"))[:3]]
    for text in texts:
        assert tokens._jieba().lcut(text, HMM=True) == jieba_itself.lcut(text, HMM=True)


def test_a_dictionary_read_as_jieba_reads_it(tmp_path: Path) -> None:
    """A word listed twice (its last line counts), a word that is also another's prefix (listed
    before and after it), a line with a tag and one without, and surrounding spaces."""
    text = "中华人民 5 nz\n中华 20 ns\n中华人民共和国 9\n  人民 30 n\n中华 40\n共和 3 v\n"
    source = tmp_path / "dict.txt"
    source.write_text(text, encoding="utf-8")
    expected, expected_total = jieba.Tokenizer.gen_pfdict(source.open("rb"))
    found, total = dictionary.load(text.encode("utf-8"))
    assert total == expected_total
    assert len(found) == len(expected)
    assert {key: found[key] for key in expected} == expected
