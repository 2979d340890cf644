"""Sphinx extension: keep thebe's scripts off the pages.

Jupyter Book 1.0.4 always loads sphinx-thebe, and its pages carry thebe's inline
configuration script twice; the second copy throws "Identifier 'THEBE_JS_URL' has already
been declared" in every reader's console. The book never uses thebe (live code runs in Colab
or Jupyter), so this drops thebe's scripts from every page.
"""


def _is_thebe(js) -> bool:
    body = str((getattr(js, "attributes", None) or {}).get("body", ""))
    return "THEBE_JS_URL" in body or str(getattr(js, "filename", "") or "").endswith("sphinx-thebe.js")


def _drop_thebe(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"][:] = [js for js in context["script_files"] if not _is_thebe(js)]


def setup(app):
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
