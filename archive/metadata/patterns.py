"""Shared vocabulary of speech headers: role words, name shapes, speech kinds (simplified and traditional)."""

from __future__ import annotations

import re

HAN = r"\u3400-\u9fff"
# A person's name: 2-4 Han characters, which typists often spread out with spaces ("张  三").
NAME = rf"[{HAN}](?:[ \u3000]{{0,3}}[{HAN}]){{1,3}}"
# A name withheld by whoever published the speech.
WITHHELD = rf"(?:[XＸ×xｘ*＊※]{{1,4}}|某某|[{HAN}]某某?)"
# Words a role ends with: 秘书长, 常务副市长, 州委常委, 党组书记, 主任 …
ROLE_END = (
    r"(?:秘书长|秘書長|书记|書記|市长|市長|县长|縣長|区长|區長|州长|州長|省长|省長|镇长|鎮長|乡长|鄉長|局长|局長|厅长|廳長"
    r"|部长|部長|处长|處長|科长|科長|院长|院長|校长|校長|社长|社長|行长|行長|所长|所長|组长|組長|站长|站長|队长|隊長|团长|團長"
    r"|司令员|政委|主任|主席|委员|委員|常委|理事长|理事長|董事长|董事長|总经理|總經理|经理|經理|总监|總監|巡视员|巡視員"
    r"|调研员|調研員|专员|專員|参事|參事|代表|负责人|負責人|主任委员|副职)"
)
ROLE = rf"[{HAN}、，,XＸ×＊*]{{0,24}}?{ROLE_END}"  # XX县县长: a place name withheld
SPEECH_KIND = r"(?:讲话|講話|发言|發言|致辞|致辭|讲稿|講稿|报告|報告|总结|總結|动员|動員|主持词|主持詞|讲评|講評|党课|黨課|辅导|輔導)"
SPEECH_TITLE = re.compile(r"(?:[讲講][话話]|[发發]言|致[辞辭]|[讲講]稿|[报報]告|党课|黨課|主持[词詞]|[讲講][评評])(?:稿|提纲|提綱)?\s*[（(]?\s*[0-9一二三四五六七八九十]*\s*[）)]?$")
MEETING = re.compile(rf"在(.{{2,60}}?)(?:上|中|时)的(?:[\w、]{{0,8}}?){SPEECH_KIND}")
SALUTATION = re.compile(r"^(?:各位|尊敬的|同志们|同志們|女士们|朋友们|大家好|亲爱的).{0,30}[:：，,！!]?$")
CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "O": 0, "o": 0, "Ｏ": 0, "０": 0, "一": 1, "二": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


_SPACES = re.compile(r"[ \u3000\t]+")


def squeeze(text: str) -> str:
    """Remove the spaces typists put inside names and titles."""
    return _SPACES.sub("", text)
