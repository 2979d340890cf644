"""Each chapter's figures and slider demos, one module per chapter, so notebook cells stay thin.

These sit on top of everything else: they compose a chapter's mathematics (``gencore.<chapter>``)
with ``gencore.viz`` and ``gencore.widgets``. Nothing below imports them.
"""
