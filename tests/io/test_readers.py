"""Readers: formats, columns, ids, kinds, row errors that do not stop a batch, streaming."""

from __future__ import annotations

import io
import json
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from motai.errors import InputError
from motai.io import detect_kind, read_items
from motai.models import TextItem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UTF8_HINT = "save the file as UTF-8 or give its encoding, e.g. --encoding cp1252"


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def read(*paths: Path | str, **kwargs: object) -> list[TextItem]:
    return list(read_items(list(paths), **kwargs))  # type: ignore[arg-type]


# --- CSV -----------------------------------------------------------------------------------


def test_csv_with_id_column_keeps_ids_as_strings_and_other_columns_in_extra(tmp_path: Path):
    f = write(tmp_path / "r.csv", "id,title,body,stars\n007,Late,It came late,2\n8,Nice,Good,5\n")
    items = read(f)
    assert [i.id for i in items] == ["007", "8"]
    assert items[0].text == "It came late"
    assert items[0].extra == {"title": "Late", "stars": "2"}
    assert (items[0].row, items[0].file) == (1, str(f))
    assert items[1].row == 2
    assert all(i.error is None for i in items)


def test_csv_without_id_column_generates_stem_and_data_row(tmp_path: Path):
    f = write(tmp_path / "shop.csv", "text\nfirst\nsecond\n")
    assert [i.id for i in read(f)] == ["shop-1", "shop-2"]
    assert [i.id for i in read_items(str(f))] == ["shop-1", "shop-2"]  # a lone path is fine


def test_csv_text_candidates_in_order(tmp_path: Path):
    f = write(tmp_path / "c.csv", "review,content\nfrom review,from content\n")
    item = read(f)[0]
    assert item.text == "from content"  # content comes before review in the candidates
    assert item.extra == {"review": "from review"}


def test_csv_custom_text_and_id_columns(tmp_path: Path):
    f = write(tmp_path / "c.csv", "ref,comment,text\nA-1,the comment,other\n")
    item = read(f, text_column="comment", id_column="ref")[0]
    assert (item.id, item.text) == ("A-1", "the comment")
    assert item.extra == {"text": "other"}


def test_csv_header_matching_ignores_case_and_bom(tmp_path: Path):
    f = write(tmp_path / "c.csv", "\ufeffID,Body\n1,hello\n".encode())
    item = read(f)[0]
    assert (item.id, item.text) == ("1", "hello")


def test_missing_text_column_is_a_file_error_with_exact_message(tmp_path: Path):
    f = write(tmp_path / "c.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(InputError) as info:
        read(f, text_column="body")
    err = info.value
    assert (err.file, err.row, err.field) == (str(f), 1, "body")
    assert err.reason == "no column 'body' (columns: a, b, c)"
    assert str(err) == f"{f}, row 1, field 'body': no column 'body' (columns: a, b, c)"


def test_missing_default_text_column_lists_candidates(tmp_path: Path):
    f = write(tmp_path / "c.csv", "a,b\n1,2\n")
    with pytest.raises(InputError, match=r"no text column: none of text, body.*\(columns: a, b\)"):
        read(f)


def test_missing_id_column_is_a_file_error(tmp_path: Path):
    f = write(tmp_path / "c.csv", "id,text\n1,x\n")
    with pytest.raises(InputError) as info:
        read(f, id_column="ref")
    assert (info.value.row, info.value.field) == (1, "ref")
    assert info.value.reason == "no column 'ref' (columns: id, text)"


def test_column_error_in_second_file_raises_before_first_file_yields(tmp_path: Path):
    good = write(tmp_path / "good.csv", "text\nfine\n")
    bad = write(tmp_path / "bad.csv", "words\nx\n")
    with pytest.raises(InputError, match=r"bad\.csv"):
        read_items([good, bad])  # at call time: nothing was yielded


def test_bad_encoding_row_becomes_error_and_later_rows_come_through(tmp_path: Path):
    rows = [f"{n},text number {n}".encode() for n in range(1, 61)]
    rows[56] = b"57,caf\xe9 latin-1 text"
    f = write(tmp_path / "enc.csv", b"id,text\n" + b"\n".join(rows) + b"\n")
    items = read(f, encoding="utf-8")  # forced: detected, the file would read as cp1252
    assert len(items) == 60
    bad = items[56]
    assert (bad.id, bad.row, bad.text) == ("57", 57, "")
    assert bad.error == (f"{f}, row 57, field 'text': not valid UTF-8 (byte 0xe9); {UTF8_HINT}")
    assert "\n" not in bad.error
    assert [i.text for i in items[57:]] == [f"text number {n}" for n in (58, 59, 60)]
    assert all(i.error is None for i in items if i is not bad)


def test_bad_encoding_in_id_generates_the_id(tmp_path: Path):
    f = write(tmp_path / "enc.csv", b"id,text\n\xff1,hello\n")
    item = read(f, encoding="utf-8")[0]
    assert item.id == "enc-1"
    assert item.error is not None and "field 'id'" in item.error


def test_empty_text_row_is_an_error_item_keeping_its_id(tmp_path: Path):
    f = write(tmp_path / "e.csv", 'id,text\n1,ok\n2,"   "\n3,\n4,fine\n')
    items = read(f)
    assert [i.id for i in items] == ["1", "2", "3", "4"]
    assert items[1].error == f"{f}, row 2, field 'text': empty text"
    assert items[2].error == f"{f}, row 3, field 'text': empty text"
    assert items[3].error is None


def test_short_row_is_padded_and_long_row_is_an_error(tmp_path: Path):
    f = write(tmp_path / "s.csv", "id,text,title\n1,hi\n2,a,b,c\n3,ok,t\n")
    items = read(f)
    assert items[0].text == "hi" and items[0].extra == {"title": ""}
    assert items[1].id == "2" and "4 fields but the header has 3" in (items[1].error or "")
    assert items[2].error is None


def test_blank_lines_are_skipped_and_not_counted(tmp_path: Path):
    f = write(tmp_path / "b.csv", "text\na\n\nb\n")
    assert [(i.id, i.text) for i in read(f)] == [("b-1", "a"), ("b-2", "b")]


def test_multiline_quoted_field_and_very_large_field(tmp_path: Path):
    big = "x" * 300_000  # above the csv module's default 131072 limit
    f = write(tmp_path / "m.csv", f'text\n"line one\nline two"\n{big}\n')
    items = read(f, max_chars=None)
    assert items[0].text == "line one\nline two"
    assert items[1].text == big and items[1].error is None


def test_tsv_by_extension_and_fmt_overrides_extension(tmp_path: Path):
    tsv = write(tmp_path / "t.tsv", "id\ttext\n1\ta, b\n")
    assert read(tsv)[0].text == "a, b"
    odd = write(tmp_path / "t.data", "id\ttext\n1\thello\n")
    assert read(odd, fmt="tsv")[0].text == "hello"
    csv_named_txt = write(tmp_path / "t.txt", "id,text\n1,from csv\n")
    assert read(csv_named_txt, fmt="csv")[0].text == "from csv"


def test_title_column_is_not_merged(tmp_path: Path):
    f = write(tmp_path / "r.csv", "id,title,body\n1,Great,Loved it\n")
    item = read(f)[0]
    assert item.text == "Loved it"
    assert item.extra == {"title": "Great"}


# --- files and formats ---------------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path: Path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError) as info:
        read(missing)
    assert info.value.file == str(missing)
    assert str(missing) in str(info.value)


def test_directory_is_not_a_file(tmp_path: Path):
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(InputError, match="not a file"):
        read(d)


def test_unknown_extension_and_unknown_fmt_and_kind(tmp_path: Path):
    f = write(tmp_path / "x.docx", "text\na\n")
    with pytest.raises(InputError, match=r"unknown file type '\.docx'"):
        read(f)
    with pytest.raises(InputError, match="unknown format 'xml'"):
        read(f, fmt="xml")
    with pytest.raises(InputError, match="unknown kind 'tweet'"):
        read(f, fmt="csv", kind="tweet")


def test_empty_csv_file_is_an_error(tmp_path: Path):
    with pytest.raises(InputError, match="no header row"):
        read(write(tmp_path / "e.csv", ""))


# --- JSONL / JSON --------------------------------------------------------------------------


def test_jsonl_objects_ids_extra_and_numeric_id(tmp_path: Path):
    lines = [
        {"id": 12, "text": "first", "lang": "en"},
        {"text": "no id", "meta": {"a": 1}},
    ]
    f = write(tmp_path / "p.jsonl", "".join(json.dumps(o) + "\n" for o in lines))
    items = read(f)
    assert [i.id for i in items] == ["12", "p-2"]
    assert items[0].extra == {"lang": "en"}
    assert items[1].extra == {"meta": {"a": 1}}
    assert items[1].row == 2


def test_ndjson_extension(tmp_path: Path):
    f = write(tmp_path / "p.ndjson", '{"body": "hello"}\n')
    assert read(f)[0].text == "hello"


def test_bad_json_line_and_non_object_line_are_error_items(tmp_path: Path):
    content = (
        '{"id": "a", "text": "ok"}\n{"id": "b", "text": \n[1, 2]\n\n{"id": "d", "text": "fine"}\n'
    )
    f = write(tmp_path / "bad.jsonl", content)
    items = read(f)
    assert [i.id for i in items] == ["a", "bad-2", "bad-3", "d"]
    assert items[1].error is not None
    assert items[1].error.startswith(f"{f}, row 2: invalid JSON: ")
    assert items[2].error == f"{f}, row 3: expected a JSON object, got an array"
    assert (items[3].row, items[3].error) == (5, None)


def test_jsonl_missing_text_field_first_object_raises_later_object_is_error_item(tmp_path: Path):
    f = write(tmp_path / "x.jsonl", '{"id": 1, "words": "x"}\n')
    with pytest.raises(InputError) as info:
        read(f, text_column="body")
    assert (info.value.row, info.value.field) == (1, "body")
    assert info.value.reason == "no field 'body' (fields: id, words)"

    g = write(tmp_path / "y.jsonl", '{"id": 1, "body": "x"}\n{"id": 2, "words": "y"}\n')
    items = read(g, text_column="body")
    assert items[0].error is None
    assert items[1].id == "2"
    assert items[1].error == f"{g}, row 2, field 'body': no field 'body' (fields: id, words)"


def test_jsonl_column_error_raises_even_after_leading_bad_lines(tmp_path: Path):
    f = write(tmp_path / "x.jsonl", 'not json\n{"id": 1, "words": "x"}\n')
    gen = read_items([f])
    with pytest.raises(InputError, match="no text field"):
        next(gen)  # the bad first line was held back, not yielded


def test_jsonl_id_column_missing_on_first_object_raises(tmp_path: Path):
    f = write(tmp_path / "x.jsonl", '{"id": 1, "text": "x"}\n')
    with pytest.raises(InputError, match="no field 'ref'"):
        read(f, id_column="ref")


def test_jsonl_bad_encoding_line_is_error_item(tmp_path: Path):
    f = write(tmp_path / "e.jsonl", b'{"id": "1", "text": "caf\xe9"}\n{"id": "2", "text": "ok"}\n')
    items = read(f, encoding="utf-8")
    assert items[0].id == "1"
    assert items[0].error == (f"{f}, row 1, field 'text': not valid UTF-8 (byte 0xe9); {UTF8_HINT}")
    assert items[1].text == "ok"


def test_jsonl_with_bom_and_non_string_text(tmp_path: Path):
    f = write(tmp_path / "b.jsonl", '\ufeff{"text": 42}\n{"text": null}\n{"text": {"a": 1}}\n')
    items = read(f)
    assert items[0].text == "42"
    assert items[1].error is not None and items[1].error.endswith("empty text")
    assert items[2].error is not None and items[2].error.endswith("expected text, got dict")


def test_turns_become_transcript_text(tmp_path: Path):
    turns = [
        {"speaker": "customer", "text": "My parcel\nis late."},
        {"speaker": "agent", "text": "Sorry, checking now."},
        {"speaker": "Supervisor", "text": "I can help."},
    ]
    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "Card declined."},
        {"role": "assistant", "content": [{"type": "text", "text": "Try the app."}]},
        {"role": "caller", "content": ""},
    ]
    f = write(tmp_path / "t.jsonl", json.dumps({"turns": turns}) + "\n")
    f2 = write(tmp_path / "u.jsonl", json.dumps({"id": "m", "messages": messages}) + "\n")
    a, b = read(f, f2)
    assert (
        a.text
        == "Customer: My parcel is late.\nAgent: Sorry, checking now.\nSupervisor: I can help."
    )
    assert a.kind == "transcript"
    assert b.text == "Customer: Card declined.\nAgent: Try the app."
    assert b.kind == "transcript"


def test_single_turn_is_still_a_transcript_and_bad_turn_is_an_error(tmp_path: Path):
    one = {"id": "1", "turns": [{"role": "user", "content": "@Shop hi #help"}]}
    bad = {"id": "2", "turns": [{"role": "user"}]}
    f = write(tmp_path / "t.jsonl", json.dumps(one) + "\n" + json.dumps(bad) + "\n")
    a, b = read(f)
    assert a.kind == "transcript"
    assert b.error == f"{f}, row 2, field 'turns': turn 1 has no 'text' or 'content'"


def test_json_list_file(tmp_path: Path):
    f = write(tmp_path / "l.json", json.dumps([{"id": "a", "text": "one"}, 5, {"text": "two"}]))
    items = read(f)
    assert [i.id for i in items] == ["a", "l-2", "l-3"]
    assert items[1].error == f"{f}, row 2: expected a JSON object, got a number"


def test_json_that_is_not_a_list_is_a_file_error(tmp_path: Path):
    f = write(tmp_path / "o.json", '{"text": "x"}')
    with pytest.raises(InputError, match="expected a JSON array"):
        read(f)
    g = write(tmp_path / "broken.json", "[{")
    with pytest.raises(InputError, match="invalid JSON"):
        read(g)


# --- kinds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Customer: hi\nAgent: hello", "transcript"),
        ("customer: hi\nagent: hello\ncustomer: bye", "transcript"),
        ("  CALLER: hello\n  Rep: yes", "transcript"),
        ("[00:01] User: hi\n[00:02] Support: hello", "transcript"),
        ("Client: only one labelled line", "review"),
        ("@Shop where is my order", "social"),
        ("Loving my new shoes #blessed", "social"),
        ("Loving my new shoes #blessed " + "x" * 400, "review"),
        ("mail me at me@example.com about order #12345", "review"),
        ("A plain review of a plain kettle.", "review"),
    ],
)
def test_detect_kind(text: str, kind: str):
    assert detect_kind(text) == kind


def test_kind_param_wins_then_kind_column_then_detection(tmp_path: Path):
    f = write(
        tmp_path / "k.csv",
        "id,kind,text\n1,social,plain text\n2,bogus,@Shop hi\n3,,Customer: a one-liner\n",
    )
    items = read(f)
    assert [i.kind for i in items] == ["social", "social", "review"]
    assert items[0].extra == {"kind": "social"}  # the kind column is kept for output too
    assert items[1].extra == {"kind": "bogus"}  # an invalid kind is kept, not used
    g = write(tmp_path / "k2.csv", 'text\n"Customer: a\nAgent: b"\n')
    assert read(g)[0].kind == "transcript"
    assert [i.kind for i in read(f, kind="review")] == ["review"] * 3


# --- txt -----------------------------------------------------------------------------------


def test_txt_one_text_per_non_empty_line(tmp_path: Path):
    f = write(tmp_path / "notes.txt", "first review\n\n@Shop hello\r\nthird\n")
    items = read(f)
    assert [(i.id, i.text, i.row) for i in items] == [
        ("notes-1", "first review", 1),
        ("notes-3", "@Shop hello", 3),
        ("notes-4", "third", 4),
    ]
    assert items[1].kind == "social"


def test_txt_transcript_is_one_item(tmp_path: Path):
    f = write(tmp_path / "call.txt", "\nagent: hi how can i help\ncustomer: my order is late\n")
    (item,) = read(f)
    assert item.id == "call-1"
    assert item.text == "agent: hi how can i help\ncustomer: my order is late"
    assert item.kind == "transcript"


def test_txt_one_labelled_line_among_reviews_stays_lines(tmp_path: Path):
    f = write(tmp_path / "r.txt", "User: great kettle\nlovely\nsturdy\nagent: cheap\nfine\n")
    assert len(read(f)) == 5


def test_txt_bad_encoding_line(tmp_path: Path):
    f = write(tmp_path / "r.txt", b"good\nbad \xff\nalso good\n")
    items = read(f, encoding="utf-8")
    assert items[1].error == f"{f}, row 2: not valid UTF-8 (byte 0xff); {UTF8_HINT}"
    assert items[2].text == "also good"


# --- stdin and streaming -------------------------------------------------------------------


class ByteStdin:
    """A stdin with a binary buffer, like the real one."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_stdin_defaults_to_jsonl(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "stdin", ByteStdin(b'{"id": "s", "text": "from stdin"}\n'))
    (item,) = read("-")
    assert (item.id, item.text, item.file) == ("s", "from stdin", "<stdin>")


def test_stdin_csv_with_bad_bytes_and_buffer_left_open(monkeypatch: pytest.MonkeyPatch):
    stdin = ByteStdin(b"text\nok\nbad \xe9\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    items = read("-", fmt="csv", encoding="utf-8")
    assert [i.id for i in items] == ["stdin-1", "stdin-2"]
    assert items[1].error is not None and "row 2" in items[1].error
    assert not stdin.buffer.closed


def test_stdin_text_stream(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("one\ntwo\n"))
    assert [i.text for i in read("-", fmt="txt")] == ["one", "two"]


class TrapStdin:
    """Text stdin that fails the test if a line past `limit` is read."""

    def __init__(self, lines: list[str], limit: int) -> None:
        self.lines, self.limit, self.read_count = lines, limit, 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.read_count += 1
            if self.read_count > self.limit:
                raise AssertionError("reader read ahead of what was asked")
            yield line


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_reader_is_lazy(monkeypatch: pytest.MonkeyPatch, fmt: str):
    if fmt == "jsonl":
        lines = ['{"text": "first"}\n', "this line is never read\n"]
        limit = 1
    else:
        lines = ["text\n", "first\n", "never read\n"]
        limit = 2
    stdin = TrapStdin(lines, limit)
    monkeypatch.setattr(sys, "stdin", stdin)
    items = read_items(["-"], fmt=fmt)
    assert next(items).text == "first"
    assert stdin.read_count == limit
    with pytest.raises(AssertionError, match="read ahead"):
        next(items)


def test_memory_stays_flat_on_a_big_csv(tmp_path: Path):
    f = tmp_path / "big.csv"
    row = "x" * 200
    with f.open("w", encoding="utf-8") as out:
        out.write("id,text\n")
        for n in range(25_000):
            out.write(f"{n},{row} {n}\n")
    size = f.stat().st_size
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_items([f]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 25_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


# --- shipped examples ----------------------------------------------------------------------


def test_examples_read_cleanly():
    reviews = read(EXAMPLES / "reviews.csv")
    posts = read(EXAMPLES / "posts.jsonl")
    chats = read(EXAMPLES / "transcripts.jsonl")
    assert len(reviews) >= 10 and all(i.extra.get("title") for i in reviews)
    assert all(i.kind == "review" for i in reviews)
    assert all(i.kind == "social" for i in posts)
    assert [i.kind for i in chats] == ["transcript"] * 4
    assert all(i.error is None for i in reviews + posts + chats)


# --- inputs as analysts have them: delimiters, encodings, binary files, long texts, .xlsx --


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_csv_delimiter_is_sniffed(tmp_path: Path, delimiter: str):
    d = delimiter
    content = (
        f"id{d}title{d}body\n"
        f'1{d}Late{d}"Arrived late, sadly; the box was torn | open"\n'
        f"2{d}Nice{d}Great fabric really\n"
    )
    f = write(tmp_path / "export.csv", content)
    items = read(f)
    assert [i.id for i in items] == ["1", "2"]
    assert items[0].text == "Arrived late, sadly; the box was torn | open"
    assert items[1].text == "Great fabric really"
    assert items[0].extra == {"title": "Late"}
    assert all(i.error is None for i in items)


def test_semicolon_csv_with_commas_in_unquoted_text(tmp_path: Path):
    """Excel in comma-decimal locales writes `;` and leaves commas unquoted."""
    f = write(tmp_path / "fr.csv", "id;note;text\n1;4,5;Livraison lente, tissu superbe\n")
    (item,) = read(f)
    assert (item.text, item.extra) == ("Livraison lente, tissu superbe", {"note": "4,5"})


def test_sniffing_reads_a_prefix_only(tmp_path: Path):
    """A big file is judged from its first 64 KiB; a late odd row does not change the verdict."""
    rows = "".join(f"{n};text {n}, with a comma\n" for n in range(20_000))
    f = write(tmp_path / "big.csv", "id;text\n" + rows + "20000,odd,row\n")
    items = read(f)
    assert len(items) == 20_001 and items[5].text == "text 5, with a comma"
    assert items[-1].error is not None and "field 'text': empty text" in items[-1].error


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_unicode_encodings_are_detected(tmp_path: Path, encoding: str):
    content = "id,text\n1,Café crème — très bon ✓\n2,Zażółć gęślą jaźń\n"
    f = write(tmp_path / "u.csv", content.encode(encoding))
    items = read(f)
    assert [i.text for i in items] == ["Café crème — très bon ✓", "Zażółć gęślą jaźń"]
    assert items[0].id == "1"  # no BOM left in the first column's name


def test_utf16_tab_separated_excel_unicode_text(tmp_path: Path):
    """Excel's "Unicode Text": UTF-16 with a BOM, tab-separated, even when named .csv."""
    content = "id\ttitle\ttext\r\n1\tLate\tIt came late, sadly\r\n"
    f = write(tmp_path / "excel.csv", content.encode("utf-16"))
    (item,) = read(f)
    assert (item.id, item.text, item.extra) == ("1", "It came late, sadly", {"title": "Late"})


def test_cp1252_csv_is_detected_and_read_without_errors(tmp_path: Path):
    content = "id;text\n1;Le café était très bon — 5 € ‘merci’\n2;Größe passt nicht\n"
    f = write(tmp_path / "win.csv", content.encode("cp1252"))
    items = read(f)
    assert [i.text for i in items] == [
        "Le café était très bon — 5 € ‘merci’",
        "Größe passt nicht",
    ]
    assert all(i.error is None for i in items)


def test_latin1_and_other_code_pages(tmp_path: Path):
    latin = write(tmp_path / "l.txt", "Ação rápida, não gostei\n".encode("latin-1"))
    assert read(latin)[0].text == "Ação rápida, não gostei"
    cyrillic = "Доставка опоздала на две недели, но ткань отличная"
    ru = write(tmp_path / "ru.txt", (cyrillic + "\n").encode("cp1251"))
    assert read(ru)[0].text == cyrillic


def test_a_utf8_file_with_one_bad_byte_stays_utf8(tmp_path: Path):
    """Valid multi-byte characters outnumber the bad bytes: the file is UTF-8, one row is bad."""
    f = write(tmp_path / "m.csv", "id,text\n1,café\n2,crème brûlée\n".encode() + b"3,caf\xe9\n")
    items = read(f)
    assert [i.text for i in items[:2]] == ["café", "crème brûlée"]
    assert items[2].error is not None and "not valid UTF-8 (byte 0xe9)" in items[2].error


def test_encoding_can_be_forced_and_an_unknown_one_is_an_error(tmp_path: Path):
    f = write(tmp_path / "w.csv", "id,text\n1,café\n".encode("cp1252"))
    assert read(f, encoding="latin-1")[0].text == "café"
    assert read(f, encoding="utf-8")[0].error is not None
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        read(f, encoding="klingon")


def test_encoding_is_detected_on_stdin(monkeypatch: pytest.MonkeyPatch):
    data = "id;text\n1;Très déçu, colis abîmé\n".encode("cp1252")
    monkeypatch.setattr(sys, "stdin", ByteStdin(data))
    (item,) = read("-", fmt="csv")
    assert (item.id, item.text) == ("1", "Très déçu, colis abîmé")


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("data.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "a ZIP archive"),
        ("notes.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        ("dump.jsonl", bytes(range(256)) * 4, "binary data"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    ],
)
def test_binary_file_is_refused_in_one_line(tmp_path: Path, name: str, content: bytes, what: str):
    f = write(tmp_path / name, content)
    with pytest.raises(InputError) as info:
        read_items([f])  # at call time, before any item
    message = str(info.value)
    assert message.startswith(f"{f}: not a text file: {what}")
    assert "\n" not in message


def test_binary_stdin_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "stdin", ByteStdin(b"\x1f\x8b\x08\x00" + bytes(100)))
    with pytest.raises(InputError, match=r"^<stdin>: not a text file: gzip"):
        read("-")


def test_text_over_max_chars_is_an_error_row(tmp_path: Path):
    big = "word " * 5_000  # 25,000 characters
    f = write(tmp_path / "long.csv", f"id,title,text\n1,ok,short\n2,huge,{big}\n3,ok,fine\n")
    items = read(f)
    assert [i.error is None for i in items] == [True, False, True]
    bad = items[1]
    assert (bad.id, bad.row, bad.text) == ("2", 2, "")
    assert bad.error == (
        f"{f}, row 2, field 'text': text too long: 25,000 characters, over the limit of "
        "20,000 (--max-chars)"
    )
    assert bad.extra == {"title": "huge"}  # the row's other columns still go out
    assert read(f, max_chars=30_000)[1].error is None
    assert read(f, max_chars=None)[1].text == big


def test_max_chars_applies_to_jsonl_txt_and_transcripts(tmp_path: Path):
    jl = write(tmp_path / "p.jsonl", json.dumps({"id": "a", "text": "x" * 50}) + "\n")
    assert "text too long: 50 characters" in (read(jl, max_chars=10)[0].error or "")
    txt = write(tmp_path / "n.txt", "short\n" + "y" * 50 + "\n")
    items = read(txt, max_chars=10)
    assert items[0].error is None
    assert items[1].error == f"{txt}, row 2, field 'text': text too long: 50 characters, " + (
        "over the limit of 10 (--max-chars)"
    )
    call = write(tmp_path / "call.txt", "Customer: " + "z" * 50 + "\nAgent: ok\n")
    assert "text too long" in (read(call, max_chars=10)[0].error or "")
    with pytest.raises(InputError, match="max_chars must be at least 1"):
        read(txt, max_chars=0)


def test_error_rows_keep_their_other_columns(tmp_path: Path):
    f = write(tmp_path / "e.csv", "id,title,text\n1,Empty one,\n")
    (item,) = read(f)
    assert item.error is not None and item.extra == {"title": "Empty one"}


def test_item_stream_knows_the_columns_when_headers_say(tmp_path: Path):
    a = write(tmp_path / "a.csv", "id,title,body,date\n1,t,x,2024\n")
    b = write(tmp_path / "b.csv", "text,channel\nx,web\n")
    stream = read_items([a, b])
    assert stream.columns == ["title", "date", "channel"]  # without the id and text columns
    assert stream.text_columns == ["body", "text"]
    assert len(list(stream)) == 2
    jl = write(tmp_path / "c.jsonl", '{"text": "x", "lang": "en"}\n')
    assert read_items([a, jl]).columns is None  # JSON fields are known row by row
    assert read_items([write(tmp_path / "d.txt", "hello\n")]).columns == []


def _xlsx(path: Path, rows: list[list[object]], *, second_sheet: bool = False) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for r in rows:
        sheet.append(r)
    if second_sheet:
        book.create_sheet("other").append(["not", "this"])
    book.save(path)
    return path


def test_xlsx_first_sheet_is_read_like_a_csv(tmp_path: Path):
    import datetime

    f = _xlsx(
        tmp_path / "survey.xlsx",
        [
            ["id", "date", "channel", "comment", "rating"],
            [101, datetime.datetime(2024, 5, 1), "web", "Arrived late, box torn", 2.0],
            [None, None, None, None, None],  # a blank row is skipped, as in CSV
            [102, datetime.datetime(2024, 5, 2, 13, 5), "store", "Lovely staff", 4.5],
        ],
        second_sheet=True,
    )
    items = read(f, text_column="comment")
    assert [(i.id, i.text, i.row) for i in items] == [
        ("101", "Arrived late, box torn", 1),
        ("102", "Lovely staff", 2),
    ]
    assert items[0].extra == {"date": "2024-05-01", "channel": "web", "rating": "2"}
    assert items[1].extra == {"date": "2024-05-02 13:05:00", "channel": "store", "rating": "4.5"}
    assert read_items([f], text_column="comment").columns == ["date", "channel", "rating"]


def test_xlsx_missing_column_fails_at_call_time(tmp_path: Path):
    f = _xlsx(tmp_path / "s.xlsx", [["id", "words"], [1, "x"]])
    with pytest.raises(InputError, match=r"s\.xlsx, row 1: no text column"):
        read_items([f])


def test_xlsx_that_is_not_a_workbook(tmp_path: Path):
    pytest.importorskip("openpyxl")
    f = write(tmp_path / "fake.xlsx", "text\na\n")
    with pytest.raises(InputError, match=r"fake\.xlsx: not a readable \.xlsx workbook"):
        read_items([f])


def test_xlsx_without_openpyxl_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    f = write(tmp_path / "s.xlsx", b"PK\x03\x04")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl -> ImportError
    with pytest.raises(InputError) as info:
        read_items([f])
    assert str(info.value) == f'{f}: reading .xlsx needs openpyxl: pip install "motai[excel]"'


def test_a_field_name_with_a_newline_keeps_the_error_on_one_line(tmp_path: Path):
    # Found by the fuzz tests: names are shown escaped when they are not printable.
    f = write(tmp_path / "x.jsonl", json.dumps({"a\nb": "x"}) + "\n")
    with pytest.raises(InputError) as info:
        read(f)
    assert "\n" not in str(info.value) and "'a\\nb'" in str(info.value)
