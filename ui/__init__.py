"""Streamlit-side helpers: cached loaders, filter widgets, figure builders, i18n and downloads."""
