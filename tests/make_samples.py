"""Write the sample folder the README's first command indexes: `python tests/make_samples.py`.

A few speeches in the layouts offices keep: .docx drafts and finals, PDF prints with running headers
and page numbers, saved pages from a document-sharing site, an old .doc, a scanned print (read by
OCR), an OFD and a page in traditional script saved as Big5, plus a Word lock file and a broken PDF
to show how they are reported. The generated files are committed under samples/. Needs LibreOffice
(for the .doc) and a CJK font.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import factory

OUT = Path(__file__).resolve().parents[1] / "samples" / "讲话稿"

BODY_OFFICE = [
    "同志们：",
    "今天召开全市政府系统办公室工作会议，主要任务是总结去年工作，部署今年任务。市政府办公室作为政府系统的运转中心和枢纽，承担着参谋助手、督促检查、协调服务的重要职责。",
    "第一，倡导“务实奉献、追求卓越”的价值取向。务实是一种态度，要坚持务实为要，让务实成为我们做人做事的一种自觉。奉献是一种境界，办公室同志经常加班加点，很少休过双休日，这就是奉献。",
    "第二，提高办文办会办事水平。文稿是办公室的门面，要坚决杜绝错别字、错漏现象，做到精益求精。会议组织要周密细致，每一个环节都要反复推敲，确保万无一失。",
    "第三，加强督查督办。对市政府确定的重点工作、重大项目和民生实事，要建立台账、挂图作战，做到件件有着落、事事有回音。",
    "同志们，新的一年，任务艰巨、使命光荣。让我们在市委、市政府的坚强领导下，真抓实干、担当作为，奋力开创政府系统办公室工作新局面！",
]
BODY_BUSINESS = [
    "同志们：",
    "优化营商环境就是解放生产力、提高竞争力。今年以来，全市上下深化放管服改革，政务服务“一网通办”事项达到1236项，企业开办时间压缩到1个工作日以内。",
    "但也要清醒看到，我们的营商环境与先进地区相比还有不小差距：有的部门服务意识不强，有的审批环节仍然繁琐，企业反映的一些问题还没有得到及时解决。",
    "下一步，要坚持“务实奉献、追求卓越”，把优化营商环境作为“一把手”工程，对标一流、补齐短板，让企业办事像网购一样方便。2020年GDP增长3.6%的基础上，今年要力争达到6.5%以上。",
    "各级各部门要当好服务企业的“店小二”，做到有求必应、无事不扰。",
]
BODY_SAFETY = [
    "同志们：",
    "安全生产事关人民群众生命财产安全，事关改革发展稳定大局。刚才，市应急管理局通报了上半年全市安全生产形势，我完全同意。",
    "从总体情况看，全市安全生产形势保持总体平稳，事故起数和死亡人数实现“双下降”。但是，当前正值汛期和高温季节，各类风险隐患交织叠加，安全生产工作丝毫不能放松。",
    "一是压紧压实责任。要严格落实“党政同责、一岗双责、齐抓共管、失职追责”，把安全生产责任落实到每一个岗位、每一名员工。",
    "二是深入排查整治隐患。要聚焦危险化学品、道路交通、建筑施工、消防等重点行业领域，开展拉网式排查，做到隐患不清零、整改不销号。",
    "三是提升应急处置能力。要完善应急预案，加强应急演练，确保一旦发生险情，能够第一时间响应、第一时间处置。",
    "同志们，安全生产只有起点、没有终点。我们要以“时时放心不下”的责任感，统筹发展和安全，坚决守住安全生产底线。",
]
BODY_ECONOMY = [
    "同志们：",
    "过去一年，面对复杂严峻的外部环境，全市上下坚持稳中求进工作总基调，经济运行稳中有进、稳中向好。全年地区生产总值增长6.8%，固定资产投资增长9.2%，社会消费品零售总额增长7.5%。",
    "今年经济工作的总体要求是：坚持以高质量发展为主题，统筹发展和安全，扎实推进项目建设、招商引资和乡村振兴，持续优化营商环境，努力实现经济质的有效提升和量的合理增长。",
    "重大项目是经济发展的“压舱石”。要坚持项目为王，实行市级领导联系重大项目制度，全年新开工亿元以上项目100个以上。",
    "各级领导干部要真抓实干、担当作为，以钉钉子精神抓好各项工作落实，确保全年目标任务圆满完成。",
]
BODY_FLOOD = [
    "同志们：",
    "今年汛期，气象部门预测我市降雨偏多，防汛形势十分严峻。各级各部门要坚决克服麻痹思想和侥幸心理，把防汛抗旱工作摆在突出位置。",
    "要坚持“务实奉献、追求卓越”的作风，落实以行政首长负责制为核心的防汛责任制，做到责任到人、措施到位。",
    "要加强监测预警，对水库、河道、山洪地质灾害易发区开展全面排查，确保人民群众生命财产安全。",
]
BODY_PROJECTS = [
    "同志们：",
    "项目建设是稳增长的关键。上半年，全市新开工重大项目56个，完成投资128亿元，项目建设呈现加快推进的良好态势。",
    "各级领导干部要发扬“务实奉献、追求卓越”的精神，一线协调解决项目建设中的困难和问题。",
    "要强化要素保障，加快审批进度，做到土地跟着项目走、资金跟着项目走。",
]
BODY_TRADITIONAL = [
    "同志們：",
    "今天召開全市政務公開工作會議，主要任務是總結經驗、部署工作。政務公開是建設法治政府的重要內容。",
    "各單位要堅持以公開為常態、不公開為例外，推進決策、執行、管理、服務、結果公開，讓權力在陽光下運行。",
]
BODY_OFD = [
    "同志们：",
    "数字政府建设是推进治理能力现代化的重要抓手。要坚持“一网通办”“一网统管”，让数据多跑路、群众少跑腿。",
    "各部门要打破信息孤岛，推进政务数据共享，年底前实现高频事项“最多跑一次”全覆盖。",
]
BODY_STUDY = [
    "同志们：",
    "我履职市政府秘书长到现在三个月时间，总的来讲有三点感受：一是办公室高效运转。市政府办公室作为政府系统的运转中心和枢纽，运转有序、非常高效。二是队伍团结和谐。三是工作辛苦清苦。",
    "对市政府负责、为市政府服好务是我们的本分。关于市政府办公室工作，我认为今后需要从以下几个方面去进一步深化和突破。",
    "第一、倡导“务实奉献、追求卓越”的价值取向。务实是一种态度，奉献是一种境界，追求是一种状态，卓越是一种方向。",
    "第二、构建“充满活力、充满效率、充满和谐”的光荣团队。如果我们不讲效率，就难以跟上市委、市政府的高要求、快节奏。",
]


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    factory.write_docx(
        OUT / "2019" / "务实奉献 追求卓越（定稿）.docx",
        ["务实奉献  追求卓越", "——在2019年全市政府系统办公室工作会议上的讲话", "市政府秘书长  张明", "（2019年3月5日）", *BODY_OFFICE],
        author="Administrator",
    )
    factory.write_docx(
        OUT / "2021" / "营商环境大会讲话.docx",
        ["张华同志在全市优化营商环境大会上的讲话", *BODY_BUSINESS, "2021年4月12日"],
        author="办公室打字员",
    )
    factory.write_pdf(
        OUT / "2020" / "安全生产会议讲话（印发稿）.pdf",
        ["在全市安全生产工作会议上的讲话", "常务副市长  李强", "（2020年6月18日）", *BODY_SAFETY],
        per_line=26, per_page=14,
    )
    factory.write_pdf(
        OUT / "2022" / "经济工作会议.pdf",
        ["市长王磊在全市经济工作会议上的讲话", "二〇二二年一月八日", *BODY_ECONOMY], per_line=28, per_page=18,
    )
    factory.write_saved_page(
        OUT / "下载" / "2020年在办公室集体学习会上的讲话.txt",
        "2020年在办公室集体学习会上的讲话", ["2020年在办公室集体学习会上的讲话", *BODY_STUDY],
        published="2023-01-16 12:41:30", pages=7, size="45.94 KB", uploader="U-7265",
    )
    with tempfile.TemporaryDirectory() as work:
        draft = factory.write_docx(Path(work) / "在全市项目建设推进会上的讲话.docx",
                                   ["在全市项目建设推进会上的讲话", "副市长  赵刚", "（2018年7月20日）", *BODY_PROJECTS])
        factory.to_legacy([draft], OUT / "2018")
    factory.write_scanned_pdf(
        OUT / "2017" / "防汛工作会议讲话（扫描件）.pdf",
        ["在全市防汛工作会议上的讲话", "市长  陈刚", "（2017年5月26日）", *BODY_FLOOD],
        per_line=26, per_page=20, running_header=None,
    )
    factory.write_ofd(
        OUT / "2023" / "数字政府建设推进会讲话.ofd",
        ["在全市数字政府建设推进会上的讲话", "市政府秘书长  刘洋", "（2023年9月12日）", *BODY_OFD],
    )
    page = factory.saved_page("在全市政務公開工作會議上的講話", ["在全市政務公開工作會議上的講話", "（2016年10月9日）",
                              *BODY_TRADITIONAL], published="2022-03-01 09:15:00", pages=3, size="21.5 KB",
                              uploader="U-1024").replace("•", "·").replace("¥", "")
    page = factory.traditional(page)  # the site's own words in traditional script too
    (OUT / "下载" / "政務公開工作會議講話.htm").write_bytes(
        ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5"></head><body>'
         + page.replace("\n", "<br />") + "</body></html>").encode("big5hkscs"))
    (OUT / "2021" / "~$营商环境大会讲话.docx").write_bytes(b"\x0cAdministrator" + bytes(150))
    (OUT / "下载" / "未下载完.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    print(f"wrote {sum(1 for p in OUT.rglob('*') if p.is_file())} files under {OUT}")


if __name__ == "__main__":
    main()
