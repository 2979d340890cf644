"""Sphinx extension: keep scripts no page uses off the pages.

- **thebe**: Jupyter Book 1.0.4 always loads sphinx-thebe, and its pages carry thebe's inline
  configuration script twice; the second copy throws "Identifier 'THEBE_JS_URL' has already
  been declared" in every reader's console. The book never uses thebe (live code runs in Colab
  or Jupyter).
- **ipywidgets state**: a chapter executed by the build (``make book``) records the state of
  its ipywidgets (every slider's notebook view, frames included) in the notebook, and myst-nb
  inlines it in the page: 0.3 MB a chapter. No widget JavaScript is loaded (``nb_ipywidgets_js``
  is empty: the website shows the static and live views), so nothing reads it.
"""

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _unused(js) -> bool:
    attributes = getattr(js, "attributes", None) or {}
    body = str(attributes.get("body", ""))
    return ("THEBE_JS_URL" in body or str(getattr(js, "filename", "") or "").endswith("sphinx-thebe.js")
            or attributes.get("type") == WIDGET_STATE)


def _drop_unused(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"][:] = [js for js in context["script_files"] if not _unused(js)]


def setup(app):
    app.connect("html-page-context", _drop_unused, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
