"""``streamlit run`` with the dummy page registered in the server's process (``pytest
--dummy-page``): ``python tests/dummy_serve.py run app.py ...``."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import dummy_page  # noqa: E402
from streamlit.web import cli  # noqa: E402

dummy_page.register()
sys.argv = ["streamlit", *sys.argv[1:]]
sys.exit(cli.main())
