"""Errors of analysis runs and findings."""

from __future__ import annotations

from citywitness.kit.errors import AppError


class UnknownAnalyzer(AppError):
    """No analyzer of that kind is installed."""

    code = "analysis.unknown_analyzer"
    status = 422


class RunNotFound(AppError):
    """No such analysis run."""

    code = "analysis.run_not_found"
    status = 404


class RunFinished(AppError):
    """The run has already finished."""

    code = "analysis.run_finished"
    status = 409


class FindingNotFound(AppError):
    """No such finding."""

    code = "analysis.finding_not_found"
    status = 404


class NotAnalysable(AppError):
    """The evidence item has no content that can be analysed."""

    code = "analysis.not_analysable"
    status = 409


class AnalysisMisconfigured(RuntimeError):
    """The analysis settings name an unknown analyzer or give an invalid config (startup)."""
