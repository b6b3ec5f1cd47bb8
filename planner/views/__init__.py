"""What is printed and drawn.

- `terminal`, `console`: terminal output (tables, headlines, JSON), never reading input as markup;
- `batch_table`: the batch summary as a table; `cycle_view`: the data a page or plot shows;
- `page`: the interactive HTML page (`report`); `plot`: the static picture (PNG, PDF, SVG).
"""
