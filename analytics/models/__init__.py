"""Statistical models: arrays and counts in, fitted results out; no SQL, no Streamlit.

Each model cites its method and is tested against a published reference or statsmodels
(``tests/test_models_*.py``).
"""
