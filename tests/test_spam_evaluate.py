"""``causerie spam evaluate``: a labelled stream replayed through a throwaway site, and
the figures the filter must keep (a little below what was measured; see README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.spam import evaluate
from service.spam.prior import CORPUS

from .cli_support import assert_refused

BLOG = Path(__file__).parent / "data" / "spam" / "blog_stream.csv"


def test_read_rows_takes_numeric_and_word_labels(tmp_path):
    path = tmp_path / "stream.csv"
    path.write_text("label,text,author\n1,buy now,Shop\n0,nice regex,Ana\nspam,win,X\nham,ok then,Y\n"
                    "maybe,skipped,Z\n1,,empty\n", encoding="utf-8")
    rows = evaluate.read_rows(path)
    assert [(r.label, r.text) for r in rows] == [("spam", "buy now"), ("ham", "nice regex"), ("spam", "win"),
                                                 ("ham", "ok then")]


def test_youtube_columns_give_the_title():
    row = evaluate.read_rows(CORPUS)[0]
    assert row.title == "PSY - Gangnam Style" and row.author == "Julius NM"


def test_shuffle_is_fixed_by_its_seed():
    rows = evaluate.read_rows(BLOG)
    assert evaluate.shuffled(rows, 3) == evaluate.shuffled(rows, 3) != rows


def test_the_cli_prints_what_readers_and_moderators_saw(tmp_path):
    from service import create_app
    path = tmp_path / "stream.csv"
    path.write_text("label,text\n0,Thanks for the regex tutorial\n1,Call +1-888-555-0147 for printer support\n",
                    encoding="utf-8")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}", "SECRET_KEY": "t"})
    result = app.test_cli_runner().invoke(args=["spam", "evaluate", str(path), "--shuffle", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "comments: 2 (1 spam, 1 genuine)" in result.output
    assert "spam that reached readers:" in result.output and "genuine comments held:" in result.output


def test_the_cli_refuses_a_file_without_labels(tmp_path):
    from service import create_app
    path = tmp_path / "stream.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}", "SECRET_KEY": "t"})
    result = app.test_cli_runner().invoke(args=["spam", "evaluate", str(path)])
    assert_refused(result, "no labelled rows")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [None, 1])
def test_youtube_stream_figures_do_not_regress(seed):
    rows = evaluate.read_rows(CORPUS)
    result = evaluate.replay(rows if seed is None else evaluate.shuffled(rows, seed))
    assert result.spam == 1005 and result.ham == 951
    assert result.spam_published <= 65  # measured: 54 in order, 54 shuffled
    assert result.ham_held + result.ham_filed <= 115  # measured: 92 in order, 104 shuffled
    assert result.ham_filed <= 16  # measured: 12 and 11


@pytest.mark.slow
@pytest.mark.parametrize("seed", [None, 1])
def test_synthetic_blog_stream_figures_do_not_regress(seed):
    rows = evaluate.read_rows(BLOG)
    result = evaluate.replay(rows if seed is None else evaluate.shuffled(rows, seed))
    assert result.spam == 30 and result.ham == 120
    assert result.spam_published <= 3  # measured: 0 in order, 2 shuffled
    assert result.ham_held + result.ham_filed <= 9  # measured: 7 and 6
