"""Positional trigram postings (the PostgreSQL engine's): every occurrence of any string, exactly
(one or two units through the trigrams that start with them), found through the blocks and
positions a reader fetches."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.search import trigrams

# 乡䡡 is 61 4E 61 48 in UTF-16LE: a unit-aligned structure never matches across two characters;
# 𠀋 is a surrogate pair (two units); 哈哈哈 overlaps itself.
WORDS = ["高质量发展", "营商环境", "乡村振兴", "的", "，", "改革", "a1", "𠀋𠀍", "發展", "乡䡡", "哈哈", "哈"]
TEXTS = st.lists(st.lists(st.sampled_from(WORDS), max_size=40).map("".join), min_size=1, max_size=30)


def found_in(chunk: trigrams.Chunk, needle: str) -> dict[int, int]:
    """ordinal -> count, read the way a database reader does: the sample, blocks, then positions
    (or a word's documents and counts)."""
    spans = []
    for part in trigrams.parts(needle):
        family = chunk.pairs if part.pairs else chunk
        sample = np.frombuffer(family.sample, "<u8")
        span = []
        for key, after in ((part.low, False), (part.high, True)):
            start = trigrams.blocks_of(sample, [key])[0] * trigrams.BLOCK
            block = trigrams.read_block(family.keys[8 * start : 8 * (start + trigrams.BLOCK)],
                                        family.offsets[4 * start : 4 * (start + trigrams.BLOCK + 1)],
                                        b"" if part.pairs else chunk.group_offsets[4 * start : 4 * (start + trigrams.BLOCK + 1)])
            span.append(trigrams.position_in(block, key, after=after))
        (first, group_first), (end, group_end) = span
        if end <= first:
            return {}
        if part.pairs:
            held, counted = trigrams.counted_pairs(chunk.pairs.documents[4 * first : 4 * end],
                                                   chunk.pairs.counts[4 * first : 4 * end])
            return dict(zip(held.tolist(), counted.tolist(), strict=True))
        spans.append((part, first, end, group_first, group_end))
    chosen = trigrams.cover([span[0] for span in spans], [end - first for _, first, end, _, _ in spans])
    found = [(part.offset, trigrams.decode(chunk.positions[2 * first : 2 * end], chunk.groups[4 * group_first : 4 * group_end]))
             for part, first, end, group_first, group_end in spans if part in chosen]
    occurrences = trigrams.occurrences(found)
    held, counted = trigrams.counts(occurrences, np.frombuffer(chunk.starts, "<u4"), needle)
    backwards = trigrams.counts(occurrences[::-1], np.frombuffer(chunk.starts, "<u4"), needle)  # in any order
    assert held.tolist() == backwards[0].tolist() and counted.tolist() == backwards[1].tolist()
    return dict(zip(held.tolist(), counted.tolist(), strict=True))


@settings(max_examples=150, deadline=None)
@given(texts=TEXTS, data=st.data())
def test_counts_every_occurrence_of_any_string_in_every_document(texts, data) -> None:
    """Needles drawn from the texts (any slice) and from the words: counts are str.count's."""
    texts = [text * data.draw(st.sampled_from([1, 40])) for text in texts]
    chunk = trigrams.build(texts)
    assert chunk.documents == len(texts)
    joined = "\x00".join(texts)
    for _ in range(12):
        if joined and data.draw(st.booleans()):
            start = data.draw(st.integers(0, len(joined) - 1))
            needle = joined[start : start + data.draw(st.integers(1, 12))]
        else:
            needle = "".join(data.draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)))
        if "\x00" in needle:
            continue
        assert found_in(chunk, needle) == {n: text.count(needle) for n, text in enumerate(texts) if needle in text}, needle


def test_counts_a_phrase_in_a_few_documents_and_in_most_alike() -> None:
    """Occurrences far fewer than documents are counted one by one, many by document: both as str.count."""
    texts = [f"第{n}篇讲话，{'务实奉献，' * (1 + n % 3) if n % 50 == 7 else ''}追求卓越。" + "追求卓越" * (n % 4) for n in range(400)]
    chunk = trigrams.build(texts)
    for needle, expected_documents in (("务实奉献", 8), ("追求卓越", 400)):
        expected = {n: text.count(needle) for n, text in enumerate(texts) if needle in text}
        assert len(expected) == expected_documents
        assert found_in(chunk, needle) == expected


def test_a_trigram_in_a_later_block_is_found() -> None:
    """Thousands of distinct trigrams, so keys fill many blocks: each one's positions are its own."""
    texts = ["".join(chr(0x4E00 + (n * 7 + i) % 3000) for i in range(50)) for n in range(400)]
    chunk = trigrams.build(texts)
    assert len(chunk.keys) // 8 > 4 * trigrams.BLOCK
    for n, size in zip(range(0, 400, 37), [7, 1, 2, 3] * 3, strict=False):
        needle = texts[n][10 : 10 + size]
        assert found_in(chunk, needle) == {m: t.count(needle) for m, t in enumerate(texts) if needle in t}


def test_positions_past_sixteen_bits_are_found_exactly() -> None:
    """Positions are kept as their low 16 bits in groups by their high bits: texts of hundreds of
    thousands of units, a trigram at every unit for more than 65,536 of them (a full group)."""
    import random

    rng = random.Random(5)
    texts = ["".join(rng.choice(WORDS) for _ in range(rng.randint(500, 3000))) for _ in range(60)]
    texts.insert(17, "哈" * 140_000)
    chunk = trigrams.build(texts)
    assert chunk.units > 6 * 65_536
    for needle in ["高质量发展", "营商环境乡村振兴", "哈哈", "哈哈哈", "哈", "展营商", "發展改革", "𠀋𠀍的"]:
        expected = {n: text.count(needle) for n, text in enumerate(texts) if needle in text}
        assert found_in(chunk, needle) == expected, needle


def test_decoded_positions_are_the_stored_ones() -> None:
    """Every trigram's positions, decoded from its slice of low bits and groups, are where it stands."""
    text = "".join(chr(0x4E00 + (n * n) % 7) for n in range(200_000))
    chunk = trigrams.build([text, text[:70_000]])
    keys = np.frombuffer(chunk.keys, "<u8")
    offsets, group_offsets = np.frombuffer(chunk.offsets, "<u4"), np.frombuffer(chunk.group_offsets, "<u4")
    joined = text + "\x00" + text[:70_000] + "\x00"
    for number in range(len(keys)):
        key = int(keys[number])
        trigram = "".join(chr((key >> shift) & 0xFFFF) for shift in (32, 16, 0))
        where = [n for n in range(len(joined) - 2) if joined.startswith(trigram, n)] if "\x00" not in trigram[:1] else None
        decoded = trigrams.decode(chunk.positions[2 * offsets[number] : 2 * offsets[number + 1]],
                                  chunk.groups[4 * group_offsets[number] : 4 * group_offsets[number + 1]])
        if where is not None and "\x00" not in trigram:
            assert decoded.tolist() == where, trigram


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(1, 10_000), min_size=1, max_size=11))
def test_the_parts_read_cover_every_unit_at_least_cost(sizes) -> None:
    """Against every subset of a needle's trigrams: the cheapest one covering each unit."""
    import itertools

    needle = "".join(chr(0x4E00 + n) for n in range(len(sizes) + 2))
    found = trigrams.parts(needle)
    assert [part.offset for part in found] == list(range(len(sizes)))

    def covers(parts) -> bool:
        return {unit for part in parts for unit in range(part.offset, part.offset + 3)} == set(range(len(needle)))

    def cost(parts) -> int:
        return sum(sizes[part.offset] + trigrams.PART_COST for part in parts)

    chosen = trigrams.cover(found, sizes)
    assert covers(chosen)
    assert [part.offset for part in chosen] == sorted(part.offset for part in chosen)
    best = min(cost(subset) for size in range(1, len(found) + 1)
               for subset in itertools.combinations(found, size) if covers(subset))
    assert cost(chosen) == best


def test_runs_of_texts_stay_within_the_chunk_size() -> None:
    texts = [(n, "字" * size) for n, size in enumerate([5, 3, 9, 1, 30, 2])]
    runs = list(trigrams.grouped(texts, chunk_units=12))
    assert [[key for key, _ in run] for run in runs] == [[0, 1], [2, 3], [4], [5]]
    assert all(sum(trigrams.units_of(t) for _, t in run) <= 12 or len(run) == 1 for run in runs)
