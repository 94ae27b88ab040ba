"""Plotly figures: :mod:`ui.figures.common` (shared), one module per page."""
