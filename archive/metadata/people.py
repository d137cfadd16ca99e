"""Who gave the speech (a person's name) and in which role, from the lines offices put around a title.

Forms read: "市政府秘书长  张三" under the title; "张三同志在…上的讲话"; "市长张三在…上的讲话"; a name line
after the title, with the role on the line before it; "讲话人：张三"; and self-references in the
opening ("我履职市政府秘书长": a role with no name). A withheld name (X, XX, ×××, ***) is not a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archive.metadata.patterns import HAN, NAME, ROLE, ROLE_END, SPEECH_KIND, WITHHELD, squeeze

# The most common Chinese surnames (single and compound): a name must start with one.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
    "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜"
    "倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲"
    "房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商"
    "刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海"
    "阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况"
    "那宿鲜印逯隆茹诸战慕危玉银亢嵩帖蔚野苍双闾"
    # the same in traditional characters, where they differ
    "張劉陳楊黃趙吳孫馬羅鄭謝韓馮鄧蕭葉蔣許呂盧鍾譚陸範賈韋鄒賀顧龔萬錢嚴湯齊喬龐顏聶莊歐蘭祿閻龍雲"
    "蘇餘傅廣閔鄺饒鐘"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐", "歐陽", "司馬")
_NOT_NAMES = {"同志", "同志们", "大家", "各位", "讲话", "會議", "会议", "目录", "提纲", "附件", "全文", "材料", "内部", "领导", "发言",
              "致辞", "报告", "总结", "上午", "下午", "今天", "同時", "同时", "主持", "秘书", "办公", "我们", "谢谢", "在此"}


@dataclass
class People:
    speaker: str | None = None
    role: str | None = None
    withheld: bool = False  # the text names a speaker but hides the name


def is_name(text: str) -> bool:
    """A plausible person's name: 2-4 Han characters starting with a common surname."""
    name = squeeze(text)
    if not re.fullmatch(rf"[{HAN}]{{2,4}}", name) or name in _NOT_NAMES:
        return False
    if name.startswith(_COMPOUND_SURNAMES):
        return True
    return name[0] in _SURNAMES and len(name) <= 3


def is_withheld(text: str) -> bool:
    return bool(re.fullmatch(WITHHELD, squeeze(text)))


_ROLE_RE = re.compile(rf"^{ROLE}$")
_ROLE_NAME_LINE = re.compile(rf"^(?P<role>{ROLE})[ \u3000]+(?P<name>{NAME}|{WITHHELD})(?:[ \u3000]*同志)?$")
_NAME_ROLE_LINE = re.compile(rf"^(?P<name>{NAME})[ \u3000]+(?P<role>{ROLE})$")
_LABELLED = re.compile(r"^(?:讲话人|講話人|主讲人|主講人|发言人|發言人|报告人|報告人|作者)\s*[:：]\s*(?P<rest>.+)$")
_BEFORE_SPEECH = re.compile(rf"^[—\-－─]*\s*(?P<who>[^在，,。；;：:]{{2,30}}?)\s*(?:同志)?\s*(?:在|于|於)\s*.{{2,80}}?的?[\w、]{{0,8}}?{SPEECH_KIND}")
_SELF = re.compile(rf"我(?:履职|履職|担任|擔任|作为|作為|任|是)(?P<role>[{HAN}、]{{2,20}}?{ROLE_END})")
_SELF_BEFORE = re.compile(rf"作为(?:一名|一个)?(?P<role>[{HAN}、]{{2,20}}?{ROLE_END})[，,、\s]*我")
# The organisation's word left in front of a role taken from "XX县人民政府县长": 政府县长 is 县长.
_ORGANISATION_WORD = re.compile(r"^.*?政府(?=[县市区州省镇乡]长$)")
_SEVERAL = re.compile(r"[ \u3000、，,]+")
_BRACKETED = re.compile(r"^[（(【\[]\s*(.*?)\s*[）)】\]]$")


_DECORATION = re.compile(r"^[—\-－─~～]+\s*|\s*[—\-－─]+$")
_IN_BRACKETS = re.compile(r"^(?P<outer>[^（(]+?)\s*[（(]\s*(?P<inner>[^）)]+?)\s*[）)]$")


def split_role_name(text: str) -> People | None:
    """'市长张三', '张三市长', '市政府秘书长 张三', '张三（市长）', '张三': role and name, if the text is just that."""
    text = _DECORATION.sub("", text.strip())
    text = re.sub(r"同志$", "", text).strip()
    text = re.sub(r"(?<=[\u3400-\u9fff])\s*[:：]\s*(?=[\u3400-\u9fff*＊XＸ×])", " ", text)  # 市长：张三
    if not text:
        return None
    bracketed = _IN_BRACKETS.match(text)
    if bracketed:  # 张三（市政府秘书长） or 市政府秘书长（张三）
        outer, inner = bracketed["outer"].strip(), bracketed["inner"].strip()
        for name, role in ((outer, inner), (inner, outer)):
            if (is_name(name) or is_withheld(name)) and role_only(role):
                return _people(name, role)
    match = _ROLE_NAME_LINE.match(text)
    if match and (is_name(match["name"]) or is_withheld(match["name"])):
        return _people(match["name"], match["role"])
    match = _NAME_ROLE_LINE.match(text)
    if match and is_name(match["name"]):
        return People(squeeze(match["name"]), squeeze(match["role"]))
    if re.fullmatch(ROLE_END, squeeze(text)):  # 区长, 县长: a role alone, though 区 is a surname
        return People(None, squeeze(text))
    if is_name(text):
        return People(squeeze(text), None)
    if is_withheld(text):
        return People(None, None, withheld=True)
    squeezed = squeeze(text)
    for match in re.finditer(ROLE_END, squeezed):  # role then name, no space: 市长张三
        role, name = squeezed[: match.end()], squeezed[match.end() :]
        if name and (is_name(name) or is_withheld(name)) and _ROLE_RE.match(role):
            return _people(name, role)
    for size in (2, 3):  # name then role: 张三市长
        name, role = squeezed[:size], squeezed[size:]
        if is_name(name) and role and re.fullmatch(ROLE_END, role):
            return People(name, role)
    return None


def _people(name: str, role: str | None) -> People:
    role = clean_role(role) if role else None
    if is_withheld(name):
        return People(None, role, withheld=True)
    return People(squeeze(name), role)


def clean_role(role: str) -> str:
    return _ORGANISATION_WORD.sub("", squeeze(role))


def role_only(line: str) -> str | None:
    squeezed = squeeze(line)
    bare_role = re.fullmatch(ROLE_END, squeezed) is not None  # 区长 is a role, though 区 is a surname
    if len(squeezed) <= 26 and _ROLE_RE.match(squeezed) and (bare_role or not is_name(squeezed)):
        return clean_role(squeezed)
    return None


def several_names(text: str) -> str | None:
    """A byline of several people (张三 李四 王五, 张三、李四): the names, joined with 、."""
    parts = [part for part in _SEVERAL.split(text.strip()) if part]
    if len(parts) >= 2 and all(is_name(part) and not re.fullmatch(ROLE_END, part) for part in parts):
        return "、".join(parts)
    return None


def find_people(title_lines: list[str], head: list[str], opening: list[str]) -> People:
    """Speaker and role from the title, the lines under it and the opening paragraphs."""
    found = People()

    def merge(candidate: People | None) -> None:
        if candidate is None:
            return
        if found.speaker is None and candidate.speaker:
            found.speaker = candidate.speaker
        if found.role is None and candidate.role:
            found.role = candidate.role
        found.withheld = found.withheld or candidate.withheld

    for line in title_lines + head:
        match = _BEFORE_SPEECH.match(squeeze(line))
        if match:
            who = match["who"]
            unnamed = re.sub(rf"^{WITHHELD}", "", who)  # X区长在…: a role whose holder is withheld
            merge(split_role_name(who) or (People(None, role_only(unnamed), withheld=unnamed != who)
                                           if role_only(unnamed) else None))
    for index, line in enumerate(head):
        inner = _BRACKETED.match(line.strip())
        text = inner.group(1) if inner else line
        text = re.sub(r"[（(]?\s*(?:19|20)\d{2}\s*[年.\-/].*$", "", text).strip()  # a date after the name
        labelled = _LABELLED.match(text)
        if labelled:
            text = labelled["rest"]
        if found.speaker is None and (names := several_names(text)):
            merge(People(names, None))
            continue
        candidate = split_role_name(text)
        if candidate is not None:
            if candidate.role is None and index > 0:
                candidate.role = role_only(head[index - 1])
            merge(candidate)
        elif (role := role_only(text)) and found.role is None:
            merge(People(None, role))
    if found.role is None:
        for paragraph in opening:
            match = _SELF.search(paragraph) or _SELF_BEFORE.search(paragraph)
            if match:
                found.role = clean_role(match["role"])
                break
    return found
