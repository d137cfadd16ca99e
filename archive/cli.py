"""The `archive` command: a thin front end that parses, calls the library and prints.

Library errors (ArchiveError) become one-line messages on stderr with exit status 1; `--debug` shows
the traceback instead. With `--json`, stdout holds exactly one JSON document.
"""

# No `from __future__ import annotations` here: typer reads every command's annotations at each
# start, and evaluating them from strings cost a cold command 8 ms.
import contextlib
import functools
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from archive import __version__
from archive.errors import ArchiveError

app = typer.Typer(
    name="archive",
    help="讲稿库: index a shared folder of speeches, find every one that holds a phrase, export passages with citations.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    """Text from documents and file names with control characters (an ESC that would drive the
    terminal) shown as �, one for one, so highlight offsets stay right."""
    return _CONTROL.sub("\ufffd", text)


class _Styled(str):
    """Text already made safe and styled: `say` passes it on as it is."""


def styled(text: str, **style: Any) -> _Styled:
    """`text` made safe, in a style (typer.style's bold=, dim=, fg=, reverse=…). Styles are ANSI codes
    that typer.echo drops when the stream is not a terminal (a pipe, a log, CliRunner)."""
    return _Styled(typer.style(safe(text), **style) if style else safe(text))


def say(*parts: str, err: bool = False) -> None:
    """One line on stdout (stderr with err=True): plain parts are made safe, `styled` ones kept.

    Plain typer.echo rather than rich: a search prints a few dozen lines, and rich's console costs a
    cold command 30 ms to import and render them; rich stays for the table of `list` and the
    progress bar."""
    typer.echo("".join(part if isinstance(part, _Styled) else safe(part) for part in parts), err=err)


def say_err(*parts: str) -> None:
    say(*parts, err=True)


def _rich_console(stderr: bool = False) -> Any:
    """rich's console for a table or a progress bar (imported only by the commands that draw one)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False, soft_wrap=not stderr, width=None if stream.isatty() else 200)


_state = {"debug": False}

IndexOption = Annotated[
    str,
    typer.Option("--index", envvar="ARCHIVE_INDEX", show_default=False,
                 help="Where the index lives: a folder, or postgresql://user@host/db for a database server "
                      "(default: $ARCHIVE_INDEX, else ./index)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else.")]
DEFAULT_INDEX = "index"


def _fail(message: str) -> typer.Exit:
    say_err(styled("error:", bold=True, fg="red"), " ", message)
    return typer.Exit(1)


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one-line messages (exit 1); --debug shows the traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.BadParameter):
            raise
        except ArchiveError as error:
            if _state["debug"]:
                raise
            raise _fail(str(error)) from None
        except KeyboardInterrupt:
            say_err("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # `archive search … | head`: the reader has what it wanted
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so closing stdout at exit does not fail again
            raise typer.Exit(1) from None
        except Exception as error:
            if _state["debug"]:
                raise
            raise _fail(f"{type(error).__name__}: {error} (run `archive --debug …` to see where)") from None

    return wrapper


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _version(value: bool) -> None:
    if value:
        say(f"archive {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", envvar="ARCHIVE_DEBUG", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Show the version and exit.")] = None,
) -> None:
    """讲稿库: index a shared folder of speeches, find every one that holds a phrase, export passages with citations."""
    _state["debug"] = debug


def _location(index: str | None):
    """The index location: an absolute folder, or a database URL (archive.search.location_of)."""
    from archive.search import location_of

    return location_of(index, DEFAULT_INDEX)


def _shown(index: str | None) -> str:
    from archive.search import shown_location

    return shown_location(_location(index))


def _open(index: str | None):
    from archive.search import open_index

    return open_index(_location(index))


def _filters(speaker: str | None = None, since: str | None = None, until: str | None = None,
             year: int | None = None, sort: str = "relevance"):
    from archive.search import Filters

    return Filters(speaker=speaker, since=since, until=until, year=year, sort=sort)


# --- index ---------------------------------------------------------------------------------------


# What reading files takes, for index and watch alike.
TimeoutOption = Annotated[float, typer.Option(help="Seconds one file may take to read before it is reported and skipped.")]
WorkersOption = Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")]


def _folders(paths: list[Path] | None, index: str | None, usage: str) -> list[Path]:
    """The folders given, else those indexed before (remembered beside the index)."""
    from archive.search import indexed_folders

    if paths:
        return paths
    known = [Path(folder) for folder in indexed_folders(_location(index))]
    if not known:
        raise ArchiveError(f"give the folder: {usage}")
    return known


@app.command("index")
@friendly_errors
def index_command(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Folders (or files) to index, recursively (default: the folders indexed before).", show_default=False)] = None,
    index: IndexOption = DEFAULT_INDEX,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 120.0,
    workers: WorkersOption = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Read again files that failed before, even if unchanged.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Only verify the index: read all of it and say whether it is whole.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Delete the index and build it again from the folders (repairs a damaged index).")] = False,
) -> None:
    """Index every supported file under each PATH: new, changed, renamed and deleted files are reflected; unchanged ones are not re-read."""
    from archive.ingest.pipeline import run_index
    from archive.search import remove_index, verify_index

    if check:
        documents = verify_index(_location(index))
        if as_json:
            print_json({"ok": True, "documents": documents, "index": _shown(index)})
        else:
            say_err(f"the index at {_shown(index)} is whole: {documents} entries read")
        return

    paths = _folders(paths, index, "archive index FOLDER")
    if rebuild:
        remove_index(_location(index))
    with _progress_bar() as progress:
        report = run_index(paths, _location(index), timeout=timeout, workers=workers, retry_failed=retry_failed,
                           progress=progress)
    if as_json:
        print_json(report.to_dict())
        return
    summary = (f"{report.added} added, {report.updated} updated, {report.removed} removed, "
               f"{report.unchanged} unchanged ({report.reused} renamed or copied, not re-read); "
               f"{len(report.failed)} failed, {len(report.skipped)} skipped in {report.seconds:.1f} s")
    if report.ocr_pages:
        summary += f"; {report.ocr_pages} scanned pages read by OCR"
    say_err(summary)
    for item in report.failed:
        say_err(f"  failed  {item['path']}: {item['reason']}")
    for item in report.skipped:
        say_err(f"  skipped {item['path']}: {item['reason']}")


class _progress_bar:
    """A rich progress bar on stderr when it is a terminal; silent otherwise (logs, CI, --json pipes)."""

    def __enter__(self):
        if not sys.stderr.isatty():
            self._progress = None
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress("reading", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                  TextColumn("{task.fields[pages]}"), console=_rich_console(stderr=True), transient=True)
        self._progress.start()
        self._task = self._progress.add_task("index", total=None, pages="")

        def update(done: int, total: int, ocr_pages: int = 0) -> None:
            pages = f"· {ocr_pages} scanned pages read by OCR" if ocr_pages else ""
            self._progress.update(self._task, completed=done, total=total, pages=pages)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


# --- search --------------------------------------------------------------------------------------

SortOption = Annotated[str, typer.Option("--sort", help="relevance (exact matches first) or date (newest first).")]
# The metadata filters search and export share.
SpeakerOption = Annotated[str | None, typer.Option(help="Only speeches by this speaker (name or role).")]
SinceOption = Annotated[str | None, typer.Option(help="Only speeches on or after this date (2020, 2020-03, 2020-03-05).")]
UntilOption = Annotated[str | None, typer.Option(help="Only speeches on or before this date.")]
YearOption = Annotated[int | None, typer.Option(help="Only speeches of this year.")]


# A query may start with a minus (`archive search -疫情防控 营商环境`): unknown "options" are query words.
QUERY_SETTINGS = {"ignore_unknown_options": True}
QueryWords = Annotated[list[str], typer.Argument(
    help='Query: "exact phrase", words, OR, NOT/-, speaker: title: year: date: (several words are one query).',
    show_default=False)]


def _query(words: list[str]) -> str:
    """The query words as one query; a `--word` is a mistyped option, not a query word (exit 2)."""
    for word in words:
        if re.match(r"--[A-Za-z]", word):
            raise typer.BadParameter(f"no such option: {word} (a query word cannot start with --)")
    return " ".join(words)


@app.command("search", context_settings=QUERY_SETTINGS)
@friendly_errors
def search_command(
    words: QueryWords,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many documents to show.")] = 10,
    offset: Annotated[int, typer.Option(help="Skip this many documents (paging).")] = 0,
    speaker: SpeakerOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    year: YearOption = None,
    sort: SortOption = "relevance",
    passages: Annotated[int, typer.Option(help="Passages shown per document.")] = 3,
    index: IndexOption = DEFAULT_INDEX,
    as_json: JsonOption = False,
) -> None:
    """Ranked matches with passages: exact matches first, then documents holding all the words."""
    from archive.search import open_for_search

    query = _query(words)
    filters = _filters(speaker, since, until, year, sort)
    with open_for_search(_location(index), query, filters) as searching:
        results = searching.search(query, filters=filters, limit=limit, offset=offset, max_passages=passages)
        suggested = []
        if not results.total:
            from archive.suggest import suggestions  # only a search that found nothing needs it

            suggested = suggestions(searching, query)
    if as_json:
        print_json({**results.to_dict(), **({"suggestions": suggested} if not results.total else {})})
        return
    if not results.total:
        say_err(f"no documents match {query}")
        if suggested:
            say_err("did you mean: " + "  ".join(f"{s['query']} ({s['total']})" for s in suggested))
        return
    shown_to = results.offset + len(results.hits)
    say(f"{results.total} documents match {query}" + (f" (showing {results.offset + 1}–{shown_to})" if results.hits else ""))
    # One entry per speech on this page: its versions fold under it, and the final version (定稿,
    # 印发稿…) stands for the group where it is on the page.
    on_page = {hit.document.path: hit for hit in results.hits}
    shown_groups: set[str] = set()
    for number, found in enumerate(results.hits, start=results.offset + 1):
        group = found.final or found.document.path
        if group in shown_groups:
            continue
        shown_groups.add(group)
        hit = on_page.get(group, found)
        document = hit.document
        say()
        heading = [f"{number}. ", styled(f"《{document.title or '?'}》", bold=True)]
        details = "  ".join(v for v in (document.speaker, document.role, document.date) if v)
        if details:
            heading.append(styled("  " + details, fg="cyan"))
        if hit.tier == "words":
            heading.append(styled("  (all words, not the exact phrase)", dim=True))
        if hit.versions:
            heading.append(styled(f"  另有 {len(hit.versions)} 个版本", fg="magenta"))
        say(*heading)
        say(styled("   " + document.path, dim=True))
        for passage in hit.passages:
            page = styled(f"p.{passage.page} ", fg="magenta") if passage.page else ""
            say("   ", page, *_highlighted(passage.text.replace("\n", " "), passage.highlights))


def _highlighted(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """`text` in parts, the spans (start, end; they may overlap) in bold reverse."""
    parts: list[str] = []
    shown = 0
    for start, end in sorted(spans):
        start = max(start, shown)
        if end <= start:
            continue
        parts += [text[shown:start], styled(text[start:end], bold=True, reverse=True)]
        shown = end
    return [*parts, text[shown:]]


# --- list, show, stats ---------------------------------------------------------------------------


@app.command("list")
@friendly_errors
def list_command(
    index: IndexOption = DEFAULT_INDEX,
    as_json: JsonOption = False,
    versions: Annotated[bool, typer.Option("--versions", help="Show the groups of versions of one speech (初稿, 修改稿, 定稿, prints, copies).")] = False,
) -> None:
    """Every indexed document with its metadata (title, date, speaker, role, pages, file)."""
    with _open(index) as archive:
        documents = archive.documents()
        groups = archive.version_groups() if versions else []
    if versions:
        if as_json:
            print_json(groups)
            return
        say(styled(f"{len(groups)} speeches kept in more than one version", bold=True))
        for group in groups:
            say()
            for number, member in enumerate(group["members"]):
                mark = "定稿 → " if number == 0 else "        "
                say(f"{mark}《{member['title'] or '?'}》 {member['date'] or ''}  {member['path']}  "
                               f"（相似度 {member['similarity']:.0%}）")
        return
    if as_json:
        print_json(documents)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("title", "date", "speaker", "role", "pages", "file", title=f"{len(documents)} documents")
    for doc in documents:
        pages = "" if doc["pages"] is None else f"{'~' if doc['pages_estimated'] else ''}{doc['pages']}"
        pages += " OCR" if doc.get("ocr") else ""
        title = (doc["title"] or "") + ("（合集：首篇的信息）" if doc.get("compilation") else "")
        title += " †" if doc.get("title_source") == "filename" else ""
        table.add_row(Text(safe(title)), doc["date"] or "", Text(safe(doc["speaker"] or "")),
                      Text(safe(doc["role"] or "")), pages, Text(safe(doc["path"])))
    _rich_console().print(table)
    if any(doc["pages_estimated"] for doc in documents):
        say_err("~ pages estimated from the layout (the file does not state them)")
    if any(doc.get("title_source") == "filename" for doc in documents):
        say_err("† the file's name: the text states no title")
    if any(doc.get("ocr") for doc in documents):
        say_err("OCR: text read from page images (a scan): a character may be misread")


@app.command("show")
@friendly_errors
def show_command(
    path: Annotated[str, typer.Argument(help="The document's file path (or its id).", show_default=False)],
    index: IndexOption = DEFAULT_INDEX,
    as_json: JsonOption = False,
) -> None:
    """One document: metadata and text."""
    with _open(index) as archive:
        doc = archive.document(path) or archive.document(os.path.abspath(path))
    if doc is None:
        raise ArchiveError(f"not in the index: {path} (see `archive list` for what is)")
    if as_json:
        print_json(doc)
        return
    say(styled(f"《{doc['title']}》", bold=True))
    for key in ("speaker", "role", "date", "meeting", "pages", "format", "ocr", "path", "published", "uploader"):
        if doc.get(key) is not None and doc.get(key) is not False:
            say(f"{key:>10}: {'yes: read from page images, a character may be misread' if doc[key] is True else doc[key]}")
    for other in doc.get("versions") or []:
        say(styled(f"  另一版本: 《{other['title'] or '?'}》 {other['date'] or ''}  {other['path']}", dim=True))
    say()
    for paragraph in doc["paragraphs"]:
        say(paragraph["text"])


@app.command("stats")
@friendly_errors
def stats_command(index: IndexOption = DEFAULT_INDEX, as_json: JsonOption = False) -> None:
    """Counts by year, by speaker and by format, with a small bar chart."""
    with _open(index) as archive:
        stats = archive.stats()
    if as_json:
        print_json(stats)
        return
    say(f"{stats['documents']} documents, {stats['failed']} files that could not be read")
    for title, counts in (("by year", stats["by_year"]), ("by speaker", stats["by_speaker"]),
                          ("by format", stats["by_format"])):
        say()
        say(styled(title, bold=True))
        largest = max(counts.values(), default=1)
        for key, count in counts.items():
            bar = "█" * max(1, round(30 * count / largest))
            say(f"  {key:<12} {bar} {count}")


def main() -> None:
    app()


# --- export --------------------------------------------------------------------------------------


@app.command("export", context_settings=QUERY_SETTINGS)
@friendly_errors
def export_command(
    words: QueryWords,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (.docx, .md, .csv, .json).",
                                         show_default=False)],
    file_format: Annotated[str | None, typer.Option("--format", "-f", help="docx, md, csv or json (default: from the suffix).")] = None,
    context: Annotated[int, typer.Option(help="Paragraphs of context around each matching paragraph.")] = 0,
    speaker: SpeakerOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    year: YearOption = None,
    sort: SortOption = "date",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file; allow writing inside an indexed folder.")] = False,
    index: IndexOption = DEFAULT_INDEX,
    as_json: JsonOption = False,
) -> None:
    """Write the matched passages with citations (title, speaker, date, meeting, page, file) to FILE."""
    from archive.export import collect, format_for, save

    query = _query(words)
    chosen = format_for(output, file_format)
    with _open(index) as archive:
        export = collect(archive, query, _filters(speaker, since, until, year, sort),
                         context=context)
        written = save(export, output, chosen, force=force, indexed_folders=archive.indexed_folders())
    summary = {"path": str(written), "format": chosen, "documents": len(export.documents),
               "passages": export.passage_count}
    if as_json:
        print_json(summary)
    else:
        say_err(f"wrote {export.passage_count} passages from {len(export.documents)} documents to {written}")


# --- serve ---------------------------------------------------------------------------------------

@app.command("timeline", context_settings=QUERY_SETTINGS)
@friendly_errors
def timeline_command(
    words: QueryWords,
    speaker: SpeakerOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    year: YearOption = None,
    index: IndexOption = DEFAULT_INDEX,
    as_json: JsonOption = False,
) -> None:
    """A phrase through the years: speeches and uses per year, who used it most, its first and latest use."""
    from archive.timeline import timeline

    query = _query(words)
    with _open(index) as archive:
        result = timeline(archive, query, _filters(speaker, since, until, year))
    if as_json:
        print_json(result.to_dict())
        return
    if not result.total:
        say_err(f"no documents match {query}")
        return
    say(styled(f"{query}: {result.total} speeches", bold=True))
    widest = max(row["documents"] for row in result.years)
    for row in result.years:
        bar = "█" * max(1, round(30 * row["documents"] / widest))
        say(f"  {row['year'] or '无日期':>6} {bar} {row['documents']} 篇 · {row['occurrences']} 处")
    if result.speakers:
        say("  用得最多：" + "，".join(f"{s['speaker']}（{s['documents']}）" for s in result.speakers[:5]))
    for label, hit in (("最早", result.first), ("最近", result.latest)):
        if hit:
            passage = hit["passages"][0]["text"] if hit["passages"] else ""
            who = "  ".join(v for v in (hit.get("speaker"), hit.get("date")) if v)
            say(styled(f"  {label}：《{hit.get('title') or '?'}》 {who}", fg="cyan"))
            if passage:
                say(f"        {passage}")


@app.command("check")
@friendly_errors
def check_command(
    draft: Annotated[str, typer.Argument(help="The draft: .docx, .doc/.wps, .pdf, .txt or .md (or - for standard input).",
                                         show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the draft as .docx with reused sentences highlighted and their sources as comments.")] = None,
    threshold: Annotated[float, typer.Option(help="Similarity from which a changed sentence counts as reused (0–1).")] = 0.85,
    min_chars: Annotated[int, typer.Option("--min-chars", help="Sentences shorter than this (characters, punctuation aside) are not checked.")] = 8,
    sources: Annotated[int, typer.Option(help="Past speeches listed per sentence.")] = 5,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing report file.")] = False,
    index: IndexOption = DEFAULT_INDEX,
    as_json: JsonOption = False,
) -> None:
    """Check a draft against the archive: which sentences repeat past speeches, exactly or nearly (文稿查重)."""
    from archive.check import check, read_draft

    text = read_draft(draft)
    with _open(index) as archive:
        report = check(archive, text, threshold=threshold, min_chars=min_chars, max_sources=sources)
        if output is not None:
            from archive.export import save_report

            save_report(report, output, force=force)
    if as_json:
        print_json(report.to_dict())
        return
    for match in report.matches:
        mark = "原文照用" if match.exact else f"相似 {match.similarity:.0%}"
        say(styled(f"[{mark}] ", bold=True, fg="yellow" if match.exact else "cyan"), match.sentence.replace("\n", " "))
        for source in match.sources:
            who = "  ".join(v for v in (source.speaker, source.date, f"p.{source.page}" if source.page else None) if v)
            say(styled(f"    《{source.title or '?'}》  {who}", dim=True))
            say(f"      {source.text}")
        if match.documents > len(match.sources):
            say(styled(f"    …and {match.documents - len(match.sources)} more past speeches", dim=True))
    say(styled(report.summary(), bold=True))
    if output is not None:
        say_err(f"wrote the report to {output}")


@app.command("watch")
@friendly_errors
def watch_command(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Folders to follow (default: the folders indexed before).", show_default=False)] = None,
    index: IndexOption = DEFAULT_INDEX,
    as_json: Annotated[bool, typer.Option("--json", help="Print each run's summary as one JSON document per line.")] = False,
    settle: Annotated[float, typer.Option(help="Seconds the folder must be quiet before a run (files still being written wait).")] = 2.0,
    rescan: Annotated[float, typer.Option(help="Seconds between full rescans, for shares that send no change events.")] = 300.0,
    timeout: TimeoutOption = 120.0,
    workers: WorkersOption = None,
) -> None:
    """Follow the folders and keep the index up to date: changes show up in searches within seconds."""
    import signal

    from archive.watch import Watcher

    paths = _folders(paths, index, "archive watch FOLDER")

    def report_run(report: dict) -> None:
        if as_json:
            sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        elif report["added"] or report["updated"] or report["removed"] or report["failed"]:
            say_err(f"{report['added']} added, {report['updated']} updated, {report['removed']} removed, "
                           f"{len(report['failed'])} failed in {report['seconds']:.1f} s")

    watcher = Watcher(paths, _location(index), settle=settle, rescan=rescan, on_run=report_run, timeout=timeout,
                      workers=workers)
    def stop_now(*_: object) -> None:
        # Unwind at once, wherever the main thread is (a handler that only set a flag could wait on a
        # lock the interrupted code holds); run_forever's `finally` stops the observer and says so.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_now)
    say_err(f"following {', '.join(watcher.roots)} into {_shown(index)}  (Ctrl-C to stop)")
    watcher.run_forever()


@app.command("serve")
@friendly_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on. Anything but 127.0.0.1 needs --token or --no-auth.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    token: Annotated[str | None, typer.Option(envvar="ARCHIVE_TOKEN", help="Secret every request must carry (Bearer header or ?token=).")] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Serve a non-local address without a token (trusted networks only).")] = False,
    allow_host: Annotated[list[str] | None, typer.Option("--allow-host", help="A host name colleagues use to reach the server (repeatable); other Host headers are refused.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Also follow the indexed folders and keep the index up to date (archive watch).")] = False,
    workers: Annotated[int | None, typer.Option(help="Server processes, each with the index open (default: one per core).")] = None,
    index: IndexOption = DEFAULT_INDEX,
) -> None:
    """The HTTP API and the web page; `/?q=…` opens the page with that search's results."""
    from archive.ingest.prepare import cpu_count
    from archive.web import policy, server
    from archive.web.app import APP_HOSTS, APP_INDEX, APP_TOKEN

    settings = policy.decide(host, port, token, no_auth, allow_host)
    location = _location(index)
    say_err(f"serving {_shown(index)} at {settings.address}  (Ctrl-C to stop)")
    # Each worker process builds the app from these (uvicorn starts workers from an import string).
    os.environ[APP_INDEX] = str(location)
    if token:
        os.environ[APP_TOKEN] = token
    if settings.allowed_hosts is not None:
        os.environ[APP_HOSTS] = ",".join(settings.allowed_hosts)
    follower = _start_watcher(location) if watch else None
    try:
        server.run(host, port, workers or cpu_count())
    finally:
        if follower is not None:
            follower.terminate()
            follower.wait(timeout=30)


def _start_watcher(location):
    """`archive watch` over the indexed folders, as a child process of the server: indexing forks
    worker processes, which a threaded server process should not do itself."""
    import subprocess

    from archive.search import indexed_folders

    folders = indexed_folders(location)
    if not folders:
        raise ArchiveError("--watch follows the folders indexed before: run `archive index FOLDER` first")
    return subprocess.Popen([sys.executable, "-m", "archive", "watch", *folders, "--index", str(location)],
                            preexec_fn=_end_with_parent)


def _end_with_parent() -> None:
    """In the watcher child: the kernel stops it when the server dies, however the server ends
    (uvicorn ends on a signal it re-raises, past any `finally`)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError):  # not Linux: the server's own `finally` stops the watcher
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
