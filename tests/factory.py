"""Real speech files for tests, the sample folder and benchmarks: .docx (python-docx), .pdf (reportlab
with a CJK font) and saved pages shaped like ../shared/seed. Text is generated from a seed, so every
run makes the same files, and tests compute what they expect from the text they wrote."""

from __future__ import annotations

import functools
import html
import io
import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path

CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)

PHRASES = [
    "务实奉献", "追求卓越", "运转中心和枢纽", "高质量发展", "营商环境", "优化营商环境", "放管服改革", "乡村振兴",
    "生态文明建设", "安全生产", "疫情防控", "招商引资", "重大项目", "民生实事", "基层治理", "作风建设", "廉政建设",
    "统筹发展和安全", "稳中求进", "改革开放", "创新驱动", "数字政府", "一网通办", "最多跑一次", "项目建设",
    "办文办会", "督查督办", "政务服务", "信息报送", "应急管理", "财政收入", "固定资产投资", "社会消费品零售总额",
    "人民群众", "获得感", "幸福感", "安全感", "马克思主义", "实事求是", "真抓实干", "担当作为", "团结和谐",
]
FILLERS = [
    "我们要", "必须", "进一步", "坚持", "扎实推进", "全面加强", "切实做好", "不断提升", "着力", "深入推进", "加快",
    "认真落实", "持续深化", "紧紧围绕", "牢固树立", "大力推动", "始终坚持", "统筹抓好",
]
TAILS = ["工作", "水平", "能力", "的要求", "的目标", "各项任务", "的成效", "的基础"]
NUMBERS = ["达到65.3%", "增长8.2%", "2020年GDP", "完成120亿元", "新增3.5万人", "第1季度", "365天", "5G基站"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
ROLES = ["市政府秘书长", "常务副市长", "市长", "市委书记", "市政府办公室主任", "副市长", "区长", "县委书记"]
MEETINGS = ["全市政府系统办公室工作会议", "办公室集体学习会", "全市经济工作会议", "全市安全生产工作会议",
            "全市优化营商环境大会", "全市项目建设推进会", "市政府第十次常务会议", "全市乡村振兴工作会议"]


# A larger vocabulary for benchmarks, so phrase frequencies look like an office's: each speech is
# about a few topics (some topics far more common than others, as in Zipf's law) and mostly uses
# that topic's phrases (an action, the topic, an object: 300 per topic, 9,000 in all), plus the
# common phrases every speech uses.
_TOPICS = ["营商环境", "乡村振兴", "安全生产", "生态环境", "城市更新", "数字经济", "民生保障", "基层治理", "招商引资", "文化旅游",
           "教育事业", "医疗卫生", "养老服务", "就业创业", "科技创新", "交通运输", "水利设施", "粮食安全", "能源保供", "金融风险",
           "防汛抗旱", "森林防火", "食品安全", "信访稳定", "社会救助", "住房保障", "人才引进", "开放合作", "产业集群", "园区建设"]
_ACTIONS = ["优化", "推进", "加强", "完善", "提升", "深化", "统筹", "保障", "规范", "创新", "巩固", "拓展", "落实", "健全", "强化"]
_OBJECTS = ["体制机制", "工作格局", "服务体系", "责任链条", "考核办法", "政策措施", "监管能力", "基础设施", "专项行动", "示范项目",
            "队伍建设", "信息平台", "资金投入", "风险防控", "标准体系", "督查问责", "宣传引导", "协同联动", "要素保障", "试点经验"]
OFFICE_VOCABULARY = [f"{a}{t}{o}" for t in _TOPICS for a in _ACTIONS for o in _OBJECTS]
_TOPIC_WEIGHTS = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(_TOPICS))))


def office_topics(rng: random.Random) -> list[str]:
    return rng.choices(_TOPICS, cum_weights=_TOPIC_WEIGHTS, k=3)


def office_phrase(rng: random.Random, topics: list[str] | None = None) -> str:
    """A topic phrase: of one of `topics` (a speech's), or of any topic as often as topics come up."""
    topic = rng.choice(topics) if topics else office_topics(rng)[0]
    return f"{rng.choice(_ACTIONS)}{topic}{rng.choice(_OBJECTS)}"


@functools.cache
def _dictionary() -> tuple[list[str], list[int]]:
    """jieba's dictionary: the words of real Chinese text with their frequencies (cumulative)."""
    import jieba

    words, weights = [], []
    with jieba.get_dict_file() as handle:
        for line in handle:
            word, frequency, *_ = line.decode("utf-8").split()
            if int(frequency) >= 5 and all("\u4e00" <= char <= "\u9fff" for char in word):
                words.append(word)
                weights.append(int(frequency))
    return words, list(itertools.accumulate(weights))


def sentence(rng: random.Random, vocabulary: str = "small", topics: list[str] | None = None) -> str:
    if vocabulary == "varied":  # a quarter office phrases, the rest words as often as Chinese uses them
        if rng.random() < 0.25:
            phrase = office_phrase(rng, topics) if rng.random() < 0.8 else rng.choice(PHRASES)
        else:
            words, cumulative = _dictionary()
            phrase = "".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(3, 7)))
        return rng.choice(FILLERS) + phrase + rng.choice(TAILS) + rng.choice("。。。；，")
    if vocabulary == "office":
        phrase = office_phrase(rng, topics) if rng.random() < 0.8 else rng.choice(PHRASES)
        parts = [rng.choice(FILLERS), phrase]
        if rng.random() < 0.3:
            parts.append(rng.choice(NUMBERS))
        parts.append(rng.choice(TAILS))
        return "".join(parts) + rng.choice("。。。；，")
    parts = [rng.choice(FILLERS), rng.choice(PHRASES)]
    if rng.random() < 0.4:
        parts.append(rng.choice(NUMBERS))
    parts.append(rng.choice(TAILS))
    if rng.random() < 0.5:
        parts += ["，", rng.choice(FILLERS), rng.choice(PHRASES), rng.choice(TAILS)]
    return "".join(parts) + rng.choice("。。。；")


def body(rng: random.Random, chars: int, vocabulary: str = "small") -> list[str]:
    """Paragraphs of generated speech text, about `chars` characters in all."""
    paragraphs: list[str] = []
    total = 0
    topics = office_topics(rng)
    while total < chars:
        paragraph = "".join(sentence(rng, vocabulary, topics) for _ in range(rng.randint(2, 6)))
        paragraphs.append(paragraph)
        total += len(paragraph)
    return paragraphs


@dataclass
class Speech:
    title: str
    speaker: str
    role: str
    date: str  # ISO
    meeting: str
    paragraphs: list[str] = field(default_factory=list)

    @property
    def date_cn(self) -> str:
        y, m, d = self.date.split("-")
        return f"{int(y)}年{int(m)}月{int(d)}日"

    def head(self) -> list[str]:
        return [self.title, f"{self.role}  {self.speaker}", f"（{self.date_cn}）", "同志们："]

    def lines(self) -> list[str]:
        return self.head() + self.paragraphs


def speech(rng: random.Random, chars: int = 3000, vocabulary: str = "small") -> Speech:
    meeting = rng.choice(MEETINGS)
    year = rng.randint(2015, 2024)
    date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    speaker = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    return Speech(f"在{meeting}上的讲话", speaker, rng.choice(ROLES), date, meeting, body(rng, chars, vocabulary))


# --- writers ---------------------------------------------------------------------------------------


def write_docx(path: Path, lines: list[str], *, title: str | None = None, author: str | None = None,
               header: str | None = None, footer: str | None = None, table: list[list[str]] | None = None) -> Path:
    import docx

    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    document.core_properties.author = author if author is not None else "Administrator"
    section = document.sections[0]
    if header:
        section.header.paragraphs[0].text = header
    if footer:
        section.footer.paragraphs[0].text = footer
    for line in lines:
        document.add_paragraph(line)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def cjk_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "CJK" in pdfmetrics.getRegisteredFontNames():
        return "CJK"
    for candidate in CJK_FONT_FILES:
        if Path(candidate).exists():
            pdfmetrics.registerFont(TTFont("CJK", candidate, subfontIndex=0))
            return "CJK"
    raise RuntimeError("no CJK font: install fonts-wqy-microhei (apt-get install fonts-wqy-microhei)")


def wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def write_pdf(path: Path, lines: list[str], *, per_line: int = 30, per_page: int = 28, running_header: str | None = "内部资料",
              page_numbers: bool = True, title: str | None = None, author: str | None = None,
              spaced: bool = False) -> Path:
    """A PDF laid out like an office print: wrapped lines, a running header, 第 N 页 共 M 页 footers.

    Head lines (short) stay on their own lines; body paragraphs get a two-character indent and wrap
    at `per_line` characters. `spaced` puts a space between characters, as some producers do.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = cjk_font()
    layout: list[tuple[str, float]] = []  # (text, x offset in em)
    for line in lines:
        if len(line) <= per_line - 4:
            layout.append((line, 0.0))
            continue
        pieces = wrap(line, per_line - 2)
        first, rest = pieces[0], "".join(pieces[1:])
        layout.append((first, 2.0))
        layout.extend((piece, 0.0) for piece in wrap(rest, per_line) if piece)
    pages = [layout[i : i + per_page] for i in range(0, len(layout), per_page)] or [[]]
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    if title:
        pdf.setTitle(title)
    if author:
        pdf.setAuthor(author)
    size = 15
    width, height = A4
    for number, page in enumerate(pages, start=1):
        pdf.setFont(font, 10)
        if running_header:
            pdf.drawString(72, height - 50, running_header)
        if page_numbers:
            pdf.drawCentredString(width / 2, 40, f"第 {number} 页 共 {len(pages)} 页")
        pdf.setFont(font, size)
        y = height - 90
        for text, indent in page:
            shown = " ".join(text) if spaced else text
            pdf.drawString(72 + indent * size, y, shown)
            y -= size * 1.6
        pdf.showPage()
    pdf.save()
    return path


SEED_FOOTER = """版权提示

  • 温馨提示:
  • 1. 部分包含数学公式或PPT动画的文件,查看预览时可能会显示错乱或异常,文件下载后无此问题,请放心下载。
  • 2. 本文档由用户上传,版权归属用户,莲山负责整理代发布。如果您对本文档版权有争议请及时联系客服。

文档下载

发布时间:{published} 页数:{pages}
价格:¥3 大小:{size}
文章作者:{uploader}

推荐特供

MORE"""


def saved_page(title: str, lines: list[str], *, published: str = "2023-01-16 12:41:30", pages: int = 7,
               size: str = "45.94 KB", uploader: str = "U-7265", per_line: int = 32) -> str:
    """A page in the shape of ../shared/seed: chrome, the body on one line with <br /> wraps, a footer."""
    def escape(text: str) -> str:
        return html.escape(text, quote=False).replace("“", "&ldquo;").replace("”", "&rdquo;")

    pieces: list[str] = []
    for line in lines:
        if len(line) <= per_line - 4:
            pieces.append(escape(line))
            continue
        pieces.extend(("  " + escape(chunk) if i == 0 else escape(chunk)) for i, chunk in enumerate(wrap(line, per_line)))
    body = "<br />".join(pieces) + "<br />..."
    head = f"首页\n\n{title}\n\n资源预览文档简介为自动调取,内容显示的完整度及准确度或有误差,请您下载后查看完整的文档内容。\n\n1/{pages}\n\n2/{pages}\n\n剩余{pages - 2}页未读,查看更多内容需下载\n\n"
    return head + body + "\n\n" + SEED_FOOTER.format(published=published, pages=pages, size=size, uploader=uploader) + "\n"


def write_saved_page(path: Path, title: str, lines: list[str], **footer) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(saved_page(title, lines, **footer), encoding="utf-8")
    return path


def make_folder(root: Path, count: int, *, seed: int = 7, chars: int = 3000,
                vocabulary: str = "small") -> list[tuple[Path, Speech]]:
    """`count` speeches: 40% docx, 40% pdf, 20% saved pages, in nested folders by year."""
    rng = random.Random(seed)
    made: list[tuple[Path, Speech]] = []
    for number in range(count):
        item = speech(rng, chars, vocabulary)
        folder = root / item.date[:4]
        kind = number % 5
        name = f"{number:04d}_{item.meeting}"
        if kind in (0, 1):
            path = write_docx(folder / f"{name}.docx", item.lines())
        elif kind in (2, 3):
            path = write_pdf(folder / f"{name}.pdf", item.lines())
        else:
            path = write_saved_page(folder / f"{name}.txt", item.title, item.lines()[1:])
        made.append((path, item))
    return made


# --- the other formats an office keeps --------------------------------------------------------------


def to_legacy(docx_files: list[Path], folder: Path, suffix: str = ".doc") -> list[Path]:
    """Word 97–2003 files made by LibreOffice from .docx files (one call for all). WPS Writer's .wps
    is the same binary format, so `suffix=".wps"` renames the result."""
    import shutil
    import subprocess

    assert shutil.which("soffice"), "LibreOffice is needed (apt-get install libreoffice-writer-nogui)"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["soffice", "--headless", "--convert-to", "doc", "--outdir", str(folder), *map(str, docx_files)],
                   check=True, capture_output=True, timeout=600)
    made = []
    for docx_file in docx_files:
        converted = folder / f"{docx_file.stem}.doc"
        assert converted.exists(), f"LibreOffice did not convert {docx_file}"
        if suffix != ".doc":
            converted = converted.rename(converted.with_suffix(suffix))
        made.append(converted)
    return made


def write_scanned_pdf(path: Path, lines: list[str], *, dpi: int = 150, text_pages: set[int] | None = None,
                      **layout) -> Path:
    """An image-only PDF, as a scanner makes: the text PDF rendered to grey page images.

    Pages whose numbers (1-based) are in `text_pages` keep their text layer (a PDF part printed,
    part scanned)."""
    import tempfile

    import pypdfium2 as pdfium

    with tempfile.TemporaryDirectory() as work:
        printed = write_pdf(Path(work) / "printed.pdf", lines, **layout)
        document = pdfium.PdfDocument(str(printed))
        output = pdfium.PdfDocument.new()
        for index in range(len(document)):
            if text_pages and index + 1 in text_pages:
                output.import_pages(document, [index])
                continue
            page = document[index]
            width, height = page.get_size()
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            jpeg = io.BytesIO()
            image.save(jpeg, format="JPEG", quality=85)  # as scanners store pages
            jpeg.seek(0)
            scanned = output.new_page(width, height)
            picture = pdfium.PdfImage.new(output)
            picture.load_jpeg(jpeg, inline=True)
            picture.set_matrix(pdfium.PdfMatrix().scale(width, height))
            scanned.insert_obj(picture)
            scanned.gen_content()
        path.parent.mkdir(parents=True, exist_ok=True)
        output.save(str(path))
        document.close()
    return path


def write_page_image(path: Path, lines: list[str], *, dpi: int = 150, **layout) -> Path:
    """A photo-like scan of the first page, as .png or .jpg."""
    import tempfile

    import pypdfium2 as pdfium

    with tempfile.TemporaryDirectory() as work:
        document = pdfium.PdfDocument(str(write_pdf(Path(work) / "p.pdf", lines, **layout)))
        image = document[0].render(scale=dpi / 72, grayscale=True).to_pil()
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        document.close()
    return path


_OFD_NS = "http://www.ofdspec.org/2016"


def write_ofd(path: Path, lines: list[str], *, per_line: int = 28, per_page: int = 22, per_character: bool = False,
              title: str | None = None) -> Path:
    """A minimal valid OFD (GB/T 33190): OFD.xml → Doc_0/Document.xml → one Content.xml per page.

    Text objects are one per line (as most producers write), or one per character
    (`per_character`, as converters from PDF do), in millimetres with y growing downwards."""
    import zipfile
    from xml.sax.saxutils import escape

    size = 5.6  # 16 pt in mm
    laid: list[tuple[str, float]] = []
    for line in lines:
        if len(line) <= per_line - 4:
            laid.append((line, 0.0))
            continue
        pieces = wrap(line, per_line - 2)
        laid.append((pieces[0], 2.0))
        laid.extend((piece, 0.0) for piece in wrap("".join(pieces[1:]), per_line) if piece)
    pages = [laid[i : i + per_page] for i in range(0, len(laid), per_page)] or [[]]
    ofd = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{_OFD_NS}" Version="1.0" DocType="OFD">'
           f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>0</ofd:DocID><ofd:Title>{escape(title or '')}</ofd:Title>"
           "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    page_list = "".join(f'<ofd:Page ID="{n + 10}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(len(pages)))
    document = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{_OFD_NS}"><ofd:CommonData>'
                "<ofd:MaxUnitID>9999</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>"
                f"</ofd:PageArea></ofd:CommonData><ofd:Pages>{page_list}</ofd:Pages></ofd:Document>")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", ofd)
        archive.writestr("Doc_0/Document.xml", document)
        next_id = 1000
        for number, page in enumerate(pages):
            objects = []
            for row, (text, indent) in enumerate(page):
                y = 37 + row * size * 1.6
                x0 = 28 + indent * size
                runs = [(text, x0)] if not per_character else [(c, x0 + i * size) for i, c in enumerate(text)]
                for run, x in runs:
                    next_id += 1
                    width = len(run) * size
                    delta = f' DeltaX="g {len(run) - 1} {size}"' if len(run) > 1 else ""
                    objects.append(f'<ofd:TextObject ID="{next_id}" Boundary="{x:.2f} {y:.2f} {width:.2f} {size * 1.2:.2f}" '
                                   f'Font="1" Size="{size}"><ofd:TextCode X="0" Y="{size:.2f}"{delta}>{escape(run)}'
                                   "</ofd:TextCode></ofd:TextObject>")
            content = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{_OFD_NS}"><ofd:Content>'
                       f'<ofd:Layer ID="{number + 1}">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>')
            archive.writestr(f"Doc_0/Pages/Page_{number}/Content.xml", content)
    return path


def traditional(text: str) -> str:
    """The text in traditional script as Taiwan writes it (Big5 holds it), converted phrase by phrase."""
    import opencc

    return opencc.OpenCC("s2tw").convert(text)


_SYLLABLES = ["huì", "yì", "zhòng", "yào", "gōng", "zuò", "fā", "zhǎn", "jiàn", "shè", "mín", "shēng", "lǜ", "guó"]


def with_pinyin(text: str, rng: random.Random, share: float = 0.3) -> str:
    """Pinyin notes pasted after some characters, as learning sites do: 會(huì)議."""
    out = []
    for char in text:
        out.append(char)
        if "\u4e00" <= char <= "\u9fff" and rng.random() < share:
            out.append(f"({rng.choice(_SYLLABLES)})" if rng.random() < 0.5 else f"（{rng.choice(_SYLLABLES)}）")
    return "".join(out)


def write_scanned_ofd(path: Path, lines: list[str], *, dpi: int = 150) -> Path:
    """An OFD whose one page is an image (a scan kept as OFD): DocumentRes.xml names the image, the
    page's ImageObject shows it across the page."""
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory() as work:
        image = write_page_image(Path(work) / "page.png", lines, dpi=dpi, running_header=None, page_numbers=False)
        picture = image.read_bytes()
    ofd = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{_OFD_NS}" Version="1.0" DocType="OFD">'
           "<ofd:DocBody><ofd:DocInfo><ofd:DocID>0</ofd:DocID></ofd:DocInfo>"
           "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    document = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{_OFD_NS}"><ofd:CommonData>'
                "<ofd:MaxUnitID>10</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>"
                "</ofd:PageArea><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>"
                '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>')
    resources = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{_OFD_NS}" BaseLoc="Res">'
                 '<ofd:MultiMedias><ofd:MultiMedia ID="3" Type="Image"><ofd:MediaFile>Image_0.png</ofd:MediaFile>'
                 "</ofd:MultiMedia></ofd:MultiMedias></ofd:Res>")
    content = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{_OFD_NS}"><ofd:Content>'
               '<ofd:Layer ID="4"><ofd:ImageObject ID="5" CTM="210 0 0 297 0 0" Boundary="0 0 210 297" ResourceID="3"/>'
               "</ofd:Layer></ofd:Content></ofd:Page>")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", ofd)
        archive.writestr("Doc_0/Document.xml", document)
        archive.writestr("Doc_0/DocumentRes.xml", resources)
        archive.writestr("Doc_0/Pages/Page_0/Content.xml", content)
        archive.writestr("Doc_0/Res/Image_0.png", picture)
    return path
