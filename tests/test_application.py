"""Causerie's Flask class."""

from __future__ import annotations

import inspect

from flask import Flask

from service.application import Causerie
from service.request import Request


def test_the_app_is_built_with_causeries_class_and_request(app):
    assert isinstance(app, Causerie)
    assert app.request_class is Request


def test_flask_works_out_once_per_function_whether_it_is_async(app, monkeypatch):
    asked = []
    real = Flask.ensure_sync

    def counting(self, func):
        asked.append(func)
        return real(self, func)

    monkeypatch.setattr(Flask, "ensure_sync", counting)
    client = app.test_client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    view = inspect.unwrap(app.view_functions["health.healthz"])
    assert [inspect.unwrap(func) for func in asked].count(view) == 1


def test_each_function_keeps_its_own_answer(app):
    def one():
        return "one"

    def two():
        return "two"

    assert app.ensure_sync(one)() == "one"
    assert app.ensure_sync(two)() == "two"
    assert app.ensure_sync(one) is one
