"""The one definition of "the same text": per character, across scripts, traceable to the original."""

from __future__ import annotations

from archive.normalize import normalise, normalise_with_origins, to_simplified
from tests import make_script_table


def test_script_fold_table_is_what_opencc_makes() -> None:
    """The shipped table is data made from OpenCC; a new OpenCC that links other characters shows here."""
    shipped = make_script_table.OUT.read_text("utf-8")
    assert shipped == make_script_table.render(make_script_table.build())


def test_traditional_and_simplified_fold_together_per_character() -> None:
    assert normalise("會議講話") == normalise("会议讲话") == "会议讲话"
    assert normalise("著力") == normalise("着力")  # Taiwan writes 着力 as 著力
    assert normalise("乾部") == normalise("幹部") == normalise("干部")
    assert len(to_simplified("在全市政務公開工作會議上")) == len("在全市政務公開工作會議上")


def test_origins_trace_each_normalised_character_back() -> None:
    text = "會 議\n講Ｇ"
    normalised, origins = normalise_with_origins(text)
    assert normalised == "会议讲g"
    assert [text[i] for i in origins] == ["會", "議", "講", "Ｇ"]


def test_origins_are_each_characters_own_normal_form_traced_back() -> None:
    """Texts with and without characters whose normal form is not one character (spaces, a
    ligature, ㍿ → 株式会社, invisible marks), as the per-character definition says."""
    import random

    rng = random.Random(3)
    regular, irregular = "讲话稿會議ＡbＧ１，。", [" ", "\n", "ﬁ", "㍿", "\u200b", "\u3000", "\t"]
    for _ in range(300):
        text = "".join(rng.choice(regular) if rng.random() < 0.9 else rng.choice(irregular)
                       for _ in range(rng.randrange(0, 30)))
        expected_text, expected_origins = "", []
        for index, char in enumerate(text):
            expected_text += normalise(char)
            expected_origins += [index] * len(normalise(char))
        normalised, origins = normalise_with_origins(text)
        assert (normalised, list(origins)) == (expected_text, expected_origins), text
