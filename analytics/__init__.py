"""CRM analytics: the database, the import pipeline and the metrics (no Streamlit here)."""
