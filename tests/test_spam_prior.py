"""The built-in prior ships as counts computed from its corpus, and is
computed again when those counts no longer match their sources."""

from __future__ import annotations

import json
import logging

import pytest

from service.spam import prior


@pytest.fixture
def fresh_load():
    """prior.load() forgets what it read, before and after the test."""
    prior.load.cache_clear()
    yield prior.load
    prior.load.cache_clear()


def test_the_shipped_prior_is_what_its_corpus_and_code_give():
    # Fails after a change of the features: run `causerie spam build-prior`.
    assert prior.shipped() == prior.compute()


def test_a_prior_file_computed_from_other_sources_is_not_used(tmp_path):
    path = tmp_path / "prior.json"
    prior.write(prior.compute(), path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["sources"] = "0" * 64
    path.write_text(json.dumps(document), encoding="utf-8")
    assert prior.shipped(path) is None


@pytest.mark.parametrize("content", [None, "", "not json", "[]", '{"counts": {}}'])
def test_a_missing_or_broken_prior_file_is_not_used(tmp_path, content):
    path = tmp_path / "prior.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert prior.shipped(path) is None


def test_a_stale_prior_file_is_replaced_by_counts_computed_from_the_corpus(tmp_path, monkeypatch, fresh_load, caplog):
    stale = tmp_path / "prior.json"
    stale.write_text('{"sources": "stale", "spam_total": 1, "ham_total": 1, "counts": {}}', encoding="utf-8")
    monkeypatch.setattr(prior, "SHIPPED", stale)
    with caplog.at_level(logging.WARNING, logger=prior.__name__):
        assert fresh_load() == prior.compute()
    assert "build-prior" in caplog.text


def test_build_prior_stores_the_counts_that_load_then_reads(app, tmp_path, monkeypatch, fresh_load):
    target = tmp_path / "prior.json"
    monkeypatch.setattr(prior, "SHIPPED", target)
    result = app.test_cli_runner().invoke(args=["spam", "build-prior"])
    assert result.exit_code == 0, result.output
    assert str(target) in result.output
    assert prior.shipped(target) == prior.compute()
    assert fresh_load() == prior.compute()
